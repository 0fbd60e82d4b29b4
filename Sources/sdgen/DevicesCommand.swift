import ArgumentParser

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the Vulkan devices sdgen can use.")

    func run() throws {
        throw CommandFailure("'sdgen devices' is planned but not built yet")
    }
}
