/// The version of the Augur library. The extension's SQL scripts carry the same number
/// (`augur.control`'s default_version); the worker warns when the two disagree.
public enum AugurVersion {
    public static let current = "0.7.0"
}
