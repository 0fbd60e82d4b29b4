import Pipeline

/// How the command line words the library's errors: by the flags a user typed.
enum ErrorMessage {
    static func describe(_ error: any Error) -> String? {
        switch error {
        case let error as GenerationError:
            error.description(naming: GenerateCommand.flag(for:))
        case let error as DeviceError:
            error.description { $0 == .device ? "--device" : "--precision" }
        case let error as WeightsError:
            error.description(option: "--weights")
        default:
            nil
        }
    }
}
