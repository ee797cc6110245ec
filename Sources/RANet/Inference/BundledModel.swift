import Foundation

extension RANetModel {
    /// The model shipped with the package: a RANet trained with the authors' recipe on
    /// Fashion-MNIST (3 flows, 6 exits), with its class names and preprocessing.
    public static func bundledModelURL() throws -> URL {
        guard let url = Bundle.module.url(forResource: "fashion-mnist", withExtension: "safetensors") else {
            throw FileError(path: Bundle.module.bundlePath, message: "the bundled model is missing from the package resources")
        }
        return url
    }

    /// Loads the bundled Fashion-MNIST model.
    public static func bundled(options: Options = Options()) throws -> RANetModel {
        try load(from: bundledModelURL(), options: options)
    }
}
