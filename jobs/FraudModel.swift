import Foundation
import KVStream

/// The logistic model that scores every payment: `score = 1 / (1 + exp(-(bias + sum of weight * feature)))`, in
/// [0, 1], over ``FraudFeatures``.
///
/// The weights live in a JSON file shipped with the job, `jobs/fraud-model.json`, compiled into the binary as the
/// default. The key `jobs.fraud-detection.model` names another file to use instead:
///
/// ```json
/// {"name": "...", "bias": -4.5, "weights": {"velocity": 2.0, "amount_spike": 2.5, ...}}
/// ```
///
/// `weights` must give a finite number for every feature of ``FraudFeatures/names`` and nothing else; other
/// top-level keys are ignored. A file that breaks this stops the job at start with exit code 2.
public struct FraudModel: Sendable, Equatable {
    public static let configKey = "jobs.fraud-detection.model"

    public var name: String
    public var bias: Double
    /// One weight per feature, in the order of ``FraudFeatures/names``.
    public var weights: [Double]

    /// The model compiled into the binary: `jobs/fraud-model.json`.
    public static let builtIn: FraudModel = {
        do throws(ModelError) {
            return try parse(PackageResources.fraud_model_json)
        } catch {
            preconditionFailure("jobs/fraud-model.json: \(error.reason)")
        }
    }()

    /// The model named by `jobs.fraud-detection.model`, or the built-in one when the key is absent.
    public static func load(_ settings: Settings) throws(ConfigError) -> FraudModel {
        guard let path = try settings.string(configKey) else { return builtIn }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file"
            throw settings.error(at: configKey, "\(path): \(reason)")
        }
        do {
            return try parse([UInt8](data))
        } catch {
            throw settings.error(at: configKey, "\(path): \(error.reason)")
        }
    }

    /// Reads a model from JSON text.
    static func parse(_ bytes: [UInt8]) throws(ModelError) -> FraudModel {
        struct File: Decodable {
            var name: String?
            var bias: Double
            var weights: [String: Double]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw ModelError("no \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ModelError(
                "\"\(path)\" has the wrong type (\"bias\" is a number, \"weights\" an object of numbers, \"name\" a string)")
        } catch {
            throw ModelError("not a JSON object with \"bias\" and \"weights\"")
        }
        guard file.bias.isFinite else { throw ModelError("\"bias\" must be finite") }
        if let unknown = file.weights.keys.sorted().first(where: { !FraudFeatures.names.contains($0) }) {
            throw ModelError(
                "unknown feature \"\(unknown)\" in \"weights\" (known: \(FraudFeatures.names.joined(separator: ", ")))")
        }
        var weights: [Double] = []
        for feature in FraudFeatures.names {
            guard let weight = file.weights[feature] else { throw ModelError("\"weights\" has no \"\(feature)\"") }
            guard weight.isFinite else { throw ModelError("the weight of \"\(feature)\" must be finite") }
            weights.append(weight)
        }
        return FraudModel(name: file.name ?? "unnamed", bias: file.bias, weights: weights)
    }

    /// The score of a payment's features, in [0, 1].
    func score(_ features: FraudFeatures) -> Double {
        var z = bias
        for i in weights.indices { z += weights[i] * features.value(i) }
        return 1 / (1 + exp(-z))
    }

    struct ModelError: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
