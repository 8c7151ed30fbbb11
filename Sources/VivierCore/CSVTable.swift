import Foundation

/// A spreadsheet export read as it comes from the field: UTF-8 with or without a byte-order mark, or Windows-1252
/// (Excel's default on French Windows); `,`, `;` or tab separated; quoted cells with doubled quotes and line
/// breaks inside (RFC 4180). Every record keeps the line it starts on, so errors point at what a person sees in an
/// editor.
public struct CSVTable: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        /// The line the record starts on, counting the header as line 1.
        public var line: Int
        public var cells: [String]
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case empty
        case unterminatedQuote(line: Int)

        public var description: String {
            switch self {
            case .empty: return "The file is empty."
            case .unterminatedQuote(let line):
                return "A quoted cell that starts on line \(line) is never closed."
            }
        }
    }

    /// "UTF-8", "UTF-8 (BOM)" or "Windows-1252".
    public var encoding: String
    public var separator: Character
    public var header: [String]
    public var records: [Record]

    public static func parse(_ bytes: [UInt8]) throws -> CSVTable {
        let (text, encoding) = decode(bytes)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw Failure.empty }
        let separator = detectSeparator(text)
        var rows = try split(text, separator: separator)
        // Lines with nothing in them (trailing newlines, spacer rows) are not records.
        rows.removeAll { $0.cells.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } }
        guard let header = rows.first else { throw Failure.empty }
        return CSVTable(
            encoding: encoding, separator: separator,
            header: header.cells.map { $0.trimmingCharacters(in: .whitespaces) }, records: Array(rows.dropFirst()))
    }

    /// The text and the encoding it was read in. Bytes that are not valid UTF-8 are read as Windows-1252, whose
    /// every byte is a character, so a file is never refused for its encoding.
    static func decode(_ bytes: [UInt8]) -> (String, String) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]), let text = String(validating: bytes.dropFirst(3), as: UTF8.self) {
            return (text, "UTF-8 (BOM)")
        }
        if let text = String(validating: bytes, as: UTF8.self) { return (text, "UTF-8") }
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if (0x80...0x9F).contains(byte), let scalar = Unicode.Scalar(windows1252[Int(byte - 0x80)]) {
                scalars.append(scalar)
            } else {
                scalars.append(Unicode.Scalar(byte))
            }
        }
        return (String(scalars), "Windows-1252")
    }

    /// What Windows-1252 puts at 0x80–0x9F (the C1 range of Latin-1); undefined positions stay as Latin-1.
    private static let windows1252: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
        0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// The separator that appears most often outside quotes on the header line.
    static func detectSeparator(_ text: String) -> Character {
        var counts: [Character: Int] = [",": 0, ";": 0, "\t": 0]
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if !quoted && (character == "\n" || character == "\r\n" || character == "\r") { break }
            if !quoted, counts[character] != nil { counts[character]! += 1 }
        }
        return [";", "\t", ","].max { counts[$0]! < counts[$1]! } ?? ","
    }

    static func split(_ text: String, separator: Character) throws -> [Record] {
        var records: [Record] = []
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var line = 1
        var recordLine = 1
        var index = text.startIndex
        var cellStarted = false
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if quoted {
                if character == "\"" {
                    if index < text.endIndex && text[index] == "\"" {
                        cell.append("\"")
                        index = text.index(after: index)
                    } else {
                        quoted = false
                    }
                } else {
                    if character.isNewline { line += 1 }
                    // Line breaks inside a cell are kept as \n whatever the file used.
                    cell.append(character.isNewline ? "\n" : character)
                }
                continue
            }
            switch character {
            case "\"" where !cellStarted:
                quoted = true
                cellStarted = true
                cell = ""
            case separator:
                cells.append(cell)
                cell = ""
                cellStarted = false
            case "\r\n", "\n", "\r":
                cells.append(cell)
                records.append(Record(line: recordLine, cells: cells))
                cells = []
                cell = ""
                cellStarted = false
                line += 1
                recordLine = line
            default:
                cell.append(character)
                if !character.isWhitespace { cellStarted = true }
            }
        }
        if quoted { throw Failure.unterminatedQuote(line: recordLine) }
        if !cell.isEmpty || !cells.isEmpty {
            cells.append(cell)
            records.append(Record(line: recordLine, cells: cells))
        }
        return records
    }
}
