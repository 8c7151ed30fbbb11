public enum VivierMailVersion { public static let name = "VivierMail" }
