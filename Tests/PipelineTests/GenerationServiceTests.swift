import Foundation
import ImageIO
import Pipeline
import PromptLanguage
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// The generation service as a server would use it: one loaded tiny model,
/// requests from several threads, progress, cancellation, validation that
/// names the parameter, defaults from the model, and memory admission.
final class GenerationServiceTests: XCTestCase {
    static let service: GenerationService = {
        try! GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
    }()
    var service: GenerationService { Self.service }

    func request(_ prompt: String, seed: UInt64, steps: Int = 3) -> GenerationRequest {
        var request = GenerationRequest(prompt: prompt, seed: seed)
        request.steps = steps
        request.width = 24
        request.height = 16
        request.scheduler = .euler
        return request
    }

    /// Two generations started together from two threads both finish, one
    /// after the other (never interleaved), each with exactly the image it
    /// gets when run alone.
    func testGenerationsFromTwoThreadsRunOneAfterTheOther() throws {
        let requests = [request("a red fox", seed: 1), request("a blue bird", seed: 2)]
        let alone = try requests.map { try XCTUnwrap(try service.generate($0).first).image }

        let log = Locked<[(request: Int, event: String)]>([])
        let images = Locked<[Int: [UInt8]]>([:])
        let group = DispatchGroup()
        for (index, request) in requests.enumerated() {
            group.enter()
            Thread.detachNewThread { [service] in
                defer { group.leave() }
                let result = try? service.generate(request) { event in
                    let name = switch event {
                    case .started: "started"
                    case .step: "step"
                    case .decoding: "decoding"
                    case .preview: "preview"
                    case .finished: "finished"
                    }
                    log.update { $0.append((index, name)) }
                }
                images.update { $0[index] = result?.first?.image.pixels }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "both generations finish")
        XCTAssertEqual(images.value[0], alone[0].pixels, "first request's image")
        XCTAssertEqual(images.value[1], alone[1].pixels, "second request's image")
        // One run's events form one block: started … finished, then the other's.
        let events = log.value
        let order = events.map(\.request)
        let first = try XCTUnwrap(order.first)
        let switchPoint = try XCTUnwrap(order.firstIndex { $0 != first })
        XCTAssertTrue(order[switchPoint...].allSatisfy { $0 != first }, "events interleaved: \(order)")
        XCTAssertEqual(events[switchPoint - 1].event, "finished")
        XCTAssertEqual(events.filter { $0.event == "step" }.count, 2 * 3)
    }

    /// Cancelled mid-run: `cancelled`, no image and no finished event — a
    /// caller that writes on `finished` writes nothing.
    func testCancellationMidRunFinishesNothing() throws {
        let cancellation = CancellationToken()
        var steps: [Int] = []
        var finished = false
        XCTAssertThrowsError(try service.generate(request("a cat", seed: 3, steps: 10), cancellation: cancellation) { event in
            switch event {
            case .step(let progress):
                steps.append(progress.step)
                if progress.step == 2 { cancellation.cancel() }
            case .finished: finished = true
            default: break
            }
        }) { XCTAssertEqual($0 as? GenerationError, .cancelled) }
        XCTAssertEqual(steps, [1, 2], "stopped at the next step")
        XCTAssertFalse(finished)
        // The model serves the next request as usual.
        XCTAssertEqual(try service.generate(request("a cat", seed: 3, steps: 1)).count, 1)
    }

    /// Cancelled while decoding: the decode's work is abandoned and nothing
    /// finishes — its meaningless values are never made into an image — and
    /// the next request's image is the one it makes alone (nothing cached
    /// kept the abandoned values).
    func testCancellationWhileDecodingFinishesNothing() throws {
        let alone = try XCTUnwrap(try service.generate(request("a cat", seed: 5, steps: 2)).first).image
        let cancellation = CancellationToken()
        var finished = false
        XCTAssertThrowsError(try service.generate(request("a cat", seed: 5, steps: 2), cancellation: cancellation) { event in
            switch event {
            case .decoding: cancellation.cancel()
            case .finished: finished = true
            default: break
            }
        }) { XCTAssertEqual($0 as? GenerationError, .cancelled) }
        XCTAssertFalse(finished)
        XCTAssertEqual(try XCTUnwrap(try service.generate(request("a cat", seed: 5, steps: 2)).first).image, alone)
    }

    /// The async interface: same image; cancelling the task cancels the run.
    func testAsyncGenerationAndTaskCancellation() async throws {
        // A synchronous closure, so the blocking overload runs.
        let blockingRun: () throws -> [GeneratedImage] = { [service] in try service.generate(self.request("a tree", seed: 4)) }
        let images = try blockingRun()
        let sync = try XCTUnwrap(images.first)
        let async = try await service.generate(request("a tree", seed: 4))
        XCTAssertEqual(async.first?.image, sync.image)

        let started = expectation(description: "first step")
        let long = request("a tree", seed: 4, steps: 200)
        let task = Task { [service] in
            try await service.generate(long) { event in
                if case .step(let progress) = event, progress.step == 1 { started.fulfill() }
            }
        }
        await fulfillment(of: [started], timeout: 60)
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled task returned images")
        } catch {
            XCTAssertEqual(error as? GenerationError, .cancelled)
        }
    }

    /// Every rule fails with the parameter's name, before any work.
    func testValidationNamesTheParameter() {
        func check(_ change: (inout GenerationRequest) -> Void, _ parameter: GenerationParameter, _ fragment: String) {
            var bad = request("x", seed: 0)
            change(&bad)
            XCTAssertThrowsError(try service.generate(bad)) { error in
                guard case let .invalid(named, requirement)? = error as? GenerationError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(named, parameter)
                XCTAssertTrue(requirement.contains(fragment), requirement)
            }
        }
        check({ $0.steps = 0 }, .steps, "at least 1")
        check({ $0.steps = 1001 }, .steps, "1000")
        // The sampler's own limits, found before the model runs.
        check({ ($0.steps, $0.scheduler) = (1000, .ddim) }, .scheduler, "ddim cannot run this request: 1000 steps")
        check({ ($0.steps, $0.scheduler) = (1000, .pndm) }, .scheduler, "use at most 999 steps")
        check({ ($0.steps, $0.scheduler) = (51, .lcm) }, .scheduler, "at most original_inference_steps (50)")
        check({ ($0.scheduler, $0.predictionType) = (.pndm, .sample) }, .scheduler, "prediction_type = sample")
        check({ $0.width = 500 }, .size, "multiples of 8")
        check({ $0.height = -8 }, .size, "multiples of 8")
        check({ $0.guidance = .nan }, .guidance, "number")
        check({ $0.clipSkip = 3 }, .clipSkip, "between 0 and 2")
        check({ $0.count = 0 }, .count, "between 1 and 10000")
        check({ $0.count = 10_001 }, .count, "between 1 and 10000")
    }

    /// Unset size, sampler and guidance come from the model: the UNet's
    /// sample_size latents (8 × 2 pixels here), the scheduler config's class
    /// (PNDM), diffusers' guidance for the family.
    func testDefaultsComeFromTheModel() throws {
        let resolved = try service.resolve(GenerationRequest(prompt: "x", seed: 0))
        XCTAssertEqual(resolved.width, 16)
        XCTAssertEqual(resolved.height, 16)
        XCTAssertEqual(resolved.scheduler, .pndm)
        XCTAssertEqual(resolved.request.steps, GenerationDefaults.steps)
        XCTAssertEqual(resolved.guidance, GenerationDefaults.guidance)
    }

    /// Requests that cannot fit are refused before any step with both numbers;
    /// the estimate grows with the image.
    func testMemoryAdmissionRefusesWhatCannotFit() throws {
        var huge = request("x", seed: 0)
        huge.width = 65536
        huge.height = 65536
        var steps = 0
        XCTAssertThrowsError(try service.generate(huge) { if case .step = $0 { steps += 1 } }) { error in
            guard case let .exceedsMemory(needed, available, _)? = error as? GenerationError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(needed, available)
            XCTAssertTrue(String(describing: error).contains("GB"), String(describing: error))
        }
        XCTAssertEqual(steps, 0)

        let limited = GenerationService(model: service.model, admission: MemoryAdmission(limitBytes: 1 << 20))
        XCTAssertThrowsError(try limited.generate(request("x", seed: 0))) { error in
            guard case .exceedsMemory? = error as? GenerationError else { return XCTFail("\(error)") }
        }
        let small = try MemoryAdmission.activationBytes(service.resolve(request("x", seed: 0)), model: service.model)
        var larger = request("x", seed: 0)
        larger.width = 256
        larger.height = 256
        let big = try MemoryAdmission.activationBytes(service.resolve(larger), model: service.model)
        XCTAssertGreaterThan(small, 0)
        XCTAssertGreaterThan(big, 100 * small)

        // An init image sets the size: a huge one is refused up front, before any step.
        var img2img = request("x", seed: 0)
        (img2img.width, img2img.height) = (nil, nil)  // the image's own size
        img2img.initImage = try RGBImage(width: 4096, height: 4096, pixels: [UInt8](repeating: 90, count: 4096 * 4096 * 3))
        XCTAssertThrowsError(try GenerationService(model: service.model, admission: MemoryAdmission(limitBytes: 1 << 30))
            .generate(img2img)) { error in
            guard case .exceedsMemory? = error as? GenerationError else { return XCTFail("\(error)") }
        }
    }
}

/// A value shared between threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}

/// The prompt-encoding seam with several encoders (SDXL's shape): hidden
/// states side by side along the width, the pooled vector from the encoder
/// that yields one.
final class CLIPPromptEncoderTests: XCTestCase {
    func testEncodersSideBySideAndPooledVector() throws {
        let model = GenerationServiceTests.service.model
        let first = model.textEncoders[0]
        let second = TextEncoderComponent(model: first.model, tokenizer: first.tokenizer, hiddenState: .penultimate,
                                          yieldsPooled: true)
        let prompts = ["", "a red fox"]
        let labels = ["the negative prompt", "the prompt"]
        let single = try CLIPPromptEncoder(encoders: [first]).encode(prompts, labels: labels, clipSkip: 0)
        let pair = try CLIPPromptEncoder(encoders: [first, second]).encode(prompts, labels: labels, clipSkip: 0)
        XCTAssertNil(single.pooled)
        let width = first.model.configuration.hiddenSize
        XCTAssertEqual(pair.sequence.shape, [2, 77, 2 * width])

        let ids = prompts.map { first.tokenizer.encode($0, maxLength: 77).ids }
        let last = single.sequence.toArray()
        // SDXL's penultimate state, without the final LayerNorm.
        let penultimate = try first.model.encode(ids, skip: 1, pooled: false, normalizesSkipped: false).hiddenStates.toArray()
        let both = pair.sequence.toArray()
        for row in 0..<(2 * 77) {
            XCTAssertEqual(Array(both[(2 * row) * width..<(2 * row + 1) * width]), Array(last[row * width..<(row + 1) * width]))
            XCTAssertEqual(Array(both[(2 * row + 1) * width..<(2 * row + 2) * width]),
                           Array(penultimate[row * width..<(row + 1) * width]))
        }
        XCTAssertEqual(try XCTUnwrap(pair.pooled).toArray(), try XCTUnwrap(first.model.encode(ids, pooled: true).pooled).toArray())
    }
}

extension CLIPPromptEncoderTests {
    /// A1111's encoder hands on each prompt's first chunk's pooled vector (a row gather), here with
    /// prompts of one and of several chunks (batches of different sizes round differently: 1e-5).
    func testA1111PooledVectorIsEachPromptsFirstChunk() throws {
        let first = GenerationServiceTests.service.model.textEncoders[0]
        let pooling = TextEncoderComponent(model: first.model, tokenizer: first.tokenizer, yieldsPooled: true)
        let long = Array(repeating: "a red fox", count: 60).joined(separator: " ")
        let conditioning = try A1111PromptEncoder(encoders: [pooling]).encode(["a cat", long], labels: ["n", "p"], clipSkip: 0)
        let chunker = PromptChunker(tokenizer: first.tokenizer, contextLength: 77)
        let firstChunks = [chunker.chunks([.init("a cat", 1)])[0].tokens, chunker.chunks([.init(long, 1)])[0].tokens]
        XCTAssertGreaterThan(chunker.chunks([.init(long, 1)]).count, 1)
        let expected = try XCTUnwrap(first.model.encode(firstChunks, pooled: true).pooled).toArray()
        assertClose(try XCTUnwrap(conditioning.pooled).toArray(), expected, atol: 1e-5, rtol: 0, "A1111 pooled rows")
    }
}

/// Peak memory from /proc/self/status, whatever its padding.
final class ProcessMemoryTests: XCTestCase {
    func testStatusFieldsAnySize() {
        let status = "Name:\tsdgen\nVmHWM:\t 8765432 kB\nVmRSS:\t12345678 kB\n"
        XCTAssertEqual(ProcessMemory.bytes(of: "VmHWM", inStatus: status), 8_765_432 * 1024)
        XCTAssertEqual(ProcessMemory.bytes(of: "VmRSS", inStatus: status), 12_345_678 * 1024, "10 GB and more: tab only")
        XCTAssertNotNil(ProcessMemory.peakResidentBytes)
    }
}
