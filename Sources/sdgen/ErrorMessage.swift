import Pipeline

/// How the command line words the library's errors: by the flags a user typed.
enum ErrorMessage {
    static func describe(_ error: any Error) -> String? {
        switch error {
        case let error as GenerationError:
            error.description(naming: GenerateCommand.flag(for:))
        case DeviceError.precisionUnsupported(let precision):
            "--precision \(precision.rawValue) is a CPU option; the GPU backend computes in f32"
        case DeviceError.gpuUnavailable(let reason):
            "no GPU backend: \(reason); or use --device cpu"
        case WeightsError.notFound(let path):
            "--weights \(path): no such file or folder"
        case WeightsError.noneFound(let folder):
            "no Stable Diffusion weights in \(folder)/: run 'sdgen download', or put a diffusers folder or a single-file .safetensors checkpoint there (or pass --weights PATH)"
        case WeightsError.ambiguous(let folder, let names):
            "several models in \(folder)/ (\(names.joined(separator: ", "))): choose one with --weights PATH"
        default:
            nil
        }
    }
}
