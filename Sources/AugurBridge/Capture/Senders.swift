/// Who a captured statement is planned and replayed as: the role that sent it, never the
/// caller of an advisor or the worker. An example execution is replayed as its own
/// sender; a normalized text as the least privileged role that sent that query id (no
/// superuser while another sent it too). A statement whose sender no longer exists has
/// no role here and is not replayed.
enum Senders {
    /// SQL for the least privileged existing role that sent `queryid` (an SQL expression)
    /// to this database; NULL when none exists any more.
    static func leastPrivileged(queryid: String) -> String {
        """
        (SELECT s.userid FROM augur.query s JOIN pg_catalog.pg_roles r ON r.oid = s.userid
          WHERE s.dbid = \(currentDatabaseOID) AND s.queryid = \(queryid)
          ORDER BY r.rolsuper, r.rolbypassrls, s.userid LIMIT 1)
        """
    }
}
