/// Whether an applied change helped, from the latency of the queries it affects before
/// and after it (their persisted histogram windows).
///
/// Each affected query's median before and after is weighed by its executions since the
/// change: the workload's time per execution, as it runs now, with and without the change.
/// A query with no history before the change, or none since, says nothing. The verdict
/// waits for `minimumCalls` executions since the change; a change that made that time
/// worse by more than `threshold` (0.2: 20 %) is to be rolled back.
public enum ChangeVerification {
    public struct Query: Sendable {
        public let queryid: Int64
        public let before: LatencyCells
        public let after: LatencyCells

        public init(queryid: Int64, before: LatencyCells, after: LatencyCells) {
            self.queryid = queryid
            self.before = before
            self.after = after
        }
    }

    public enum Verdict: Equatable, Sendable {
        /// Not enough executions since the change yet.
        case pending(calls: UInt64)
        /// Milliseconds saved per affected execution (negative: lost, within the threshold).
        case verified(savedMilliseconds: Double, beforeMilliseconds: Double, afterMilliseconds: Double, calls: UInt64)
        case rollBack(beforeMilliseconds: Double, afterMilliseconds: Double, calls: UInt64)
    }

    public static func verdict(_ queries: [Query], minimumCalls: UInt64, threshold: Double) -> Verdict {
        var calls: UInt64 = 0, before = 0.0, after = 0.0
        for query in queries {
            guard query.before.count > 0, query.after.count > 0,
                  let old = try? query.before.quantile(0.5), let new = try? query.after.quantile(0.5) else { continue }
            let weight = Double(query.after.count)
            calls &+= query.after.count
            before += weight * old.nanoseconds / 1e6
            after += weight * new.nanoseconds / 1e6
        }
        guard calls >= max(minimumCalls, 1) else { return .pending(calls: calls) }
        let perCall = (before: before / Double(calls), after: after / Double(calls))
        if perCall.after > perCall.before * (1 + threshold) {
            return .rollBack(beforeMilliseconds: perCall.before, afterMilliseconds: perCall.after, calls: calls)
        }
        return .verified(savedMilliseconds: perCall.before - perCall.after, beforeMilliseconds: perCall.before,
                         afterMilliseconds: perCall.after, calls: calls)
    }
}
