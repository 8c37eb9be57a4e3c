import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// A diffusers model directory, recognised by its `config.json` `_class_name`.
enum LoadedModel {
    case unet(UNet2DConditionModel, ParameterStore)
    case flux(FluxTransformer2DModel, ParameterStore)

    /// Loads `directory`, dispatching on the configuration's `_class_name`.
    /// - Throws: `CLIError.unsupportedModel` for classes PruneKit does not implement, or the loader's error.
    static func load(directory: String) throws -> LoadedModel {
        let className = try Self.className(directory: directory)
        switch className {
        case "UNet2DConditionModel":
            let (model, store) = try UNet2DConditionModel.load(directory: directory)
            return .unet(model, store)
        case "FluxTransformer2DModel":
            let loaded = try FluxModelLoader.load(directory: directory, structure: .inferredFromWeights)
            return .flux(loaded.model, loaded.parameters)
        default:
            throw CLIError.unsupportedModel(directory: directory, className: className)
        }
    }

    /// The `_class_name` of `directory/config.json`.
    static func className(directory: String) throws -> String {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError.missingFile(path: path, purpose: "the model configuration")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let name = object["_class_name"] as? String
        else {
            throw CLIError.invalidFile(path: path, reason: "expected a JSON object with a _class_name")
        }
        return name
    }
}

extension LoadedModel {
    /// Parameters, heads and FFN neurons of the loaded model.
    var accounting: ModelAccounting {
        switch self {
        case .unet(let unet, let store): unet.accounting(parameters: store)
        case .flux(let flux, _): FluxParameterAccounting(configuration: flux.configuration, structure: flux.structure).summary
        }
    }
}

/// Errors the CLI reports in one line before exiting non-zero.
enum CLIError: Error, CustomStringConvertible {
    case missingFile(path: String, purpose: String)
    case invalidFile(path: String, reason: String)
    case unsupportedModel(directory: String, className: String)
    case missingInput(path: String, name: String)
    case badOption(String)

    var description: String {
        switch self {
        case .missingFile(let path, let purpose): "\(path) not found (\(purpose))"
        case .invalidFile(let path, let reason): "\(path): \(reason)"
        case .unsupportedModel(let directory, let className):
            "\(directory): model class \(className) is not supported (UNet2DConditionModel, FluxTransformer2DModel)"
        case .missingInput(let path, let name): "\(path) has no tensor named \(name)"
        case .badOption(let message): message
        }
    }
}
