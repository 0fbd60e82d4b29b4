import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time Stable Diffusion 1.5 (UNet s/it, text encoder, VAE) on the CPU and the GPU.")

    func run() throws {
        throw NotBuiltYet(command: "bench")
    }
}
