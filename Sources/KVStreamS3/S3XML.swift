import Foundation

/// Reads the few elements the client needs out of S3's XML answers (`<Error><Code>`, `<Contents><Key>`,
/// `<NextContinuationToken>`): their text, entities decoded.
///
/// A scanner rather than a parser: these elements never carry attributes or children, and S3 writes no CDATA,
/// so text between `<Name>` and `</Name>` is the whole value.
enum S3XML {
    /// The text of every `<name>` element, in document order.
    static func values(of name: String, in xml: Data) -> [String] {
        let text = String(decoding: xml, as: UTF8.self)
        let open = "<\(name)>", close = "</\(name)>"
        var values: [String] = []
        var rest = text[...]
        while let start = rest.range(of: open), let end = rest[start.upperBound...].range(of: close) {
            values.append(decodeEntities(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
        return values
    }

    /// The text of the first `<name>` element.
    static func value(of name: String, in xml: Data) -> String? {
        values(of: name, in: xml).first
    }

    /// Replaces the five predefined entities and numeric character references.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&"), let semi = rest[amp...].firstIndex(of: ";") {
            out += rest[..<amp]
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                out += number.flatMap(Unicode.Scalar.init).map { String(Character($0)) } ?? "&\(entity);"
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
