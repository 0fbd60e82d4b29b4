import ArgumentParser

@main
struct SDGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdgen",
        abstract: "Stable Diffusion 1.5 text-to-image and CPU-vs-GPU inference benchmarks, on Vulkan or the CPU.",
        subcommands: [TokenizeCommand.self],
        defaultSubcommand: nil)
}
