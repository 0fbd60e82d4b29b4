import Foundation
import Pipeline

/// A1111's answer to txt2img and img2img: `images` (base64 PNGs, each with
/// its `parameters` chunk), `parameters` (the request as read) and `info`
/// (a JSON string: seeds, infotexts, sizes, as `Processed.js()` writes it).
struct GenerationAnswer {
    let payload: GenerationPayload
    let images: [GeneratedImage]
    let pngs: [[UInt8]]
    let modelName: String
    let request: GenerationRequest

    var json: JSONValue {
        let first = images.first
        let seeds = images.map { JSONValue.number(Double($0.seed)) }
        let infotexts = images.map { JSONValue.string($0.parameters.a1111Text) }
        var extras: [String: JSONValue] = [:]
        for field in first?.parameters.extras ?? [] where field.key != "Version" { extras[field.key] = .string(field.value) }
        let info: JSONValue = [
            "prompt": .string(payload.prompt),
            "all_prompts": .array(images.map { _ in .string(payload.prompt) }),
            "negative_prompt": .string(payload.negativePrompt),
            "all_negative_prompts": .array(images.map { _ in .string(payload.negativePrompt) }),
            "seed": first.map { .number(Double($0.seed)) } ?? .number(Double(request.seed)),
            "all_seeds": .array(seeds),
            "subseed": -1, "all_subseeds": .array(images.map { _ in -1 }), "subseed_strength": 0,
            "width": first.map { JSONValue($0.parameters.width) } ?? .null,
            "height": first.map { JSONValue($0.parameters.height) } ?? .null,
            "sampler_name": JSONValue(first?.parameters.sampler),
            "cfg_scale": JSONValue(payload.cfgScale),
            "steps": JSONValue(request.steps),
            "batch_size": JSONValue(payload.batchSize),
            "restore_faces": false, "face_restoration_model": nil,
            "sd_model_name": .string(modelName), "sd_model_hash": nil, "sd_vae_name": nil, "sd_vae_hash": nil,
            "seed_resize_from_w": -1, "seed_resize_from_h": -1,
            "denoising_strength": payload.mode == .imageToImage ? JSONValue(payload.strength) : nil,
            "extra_generation_params": .object(extras),
            "index_of_first_image": 0,
            "infotexts": .array(infotexts),
            "styles": [],
            "job_timestamp": .string(Self.timestamp()),
            "clip_skip": JSONValue(request.clipSkip + 1),
            "is_using_inpainting_conditioning": false,
            "version": "sdgen",
        ]
        var parameters = payload.echo
        // The request's own defaults filled in, as A1111's request model holds them.
        parameters["prompt"] = .string(payload.prompt)
        parameters["negative_prompt"] = .string(payload.negativePrompt)
        parameters["seed"] = JSONValue(payload.seed)
        parameters["steps"] = JSONValue(payload.steps)
        parameters["cfg_scale"] = JSONValue(payload.cfgScale)
        parameters["batch_size"] = JSONValue(payload.batchSize)
        parameters["n_iter"] = JSONValue(payload.iterations)
        parameters["width"] = first.map { JSONValue($0.parameters.width) } ?? .null
        parameters["height"] = first.map { JSONValue($0.parameters.height) } ?? .null
        parameters["sampler_name"] = JSONValue(first?.parameters.sampler)
        // The images are the answer; echoing them back would double its size.
        parameters["init_images"] = nil
        parameters["mask"] = nil
        return [
            "images": .array(payload.sendImages ? pngs.map { .string(Base64Image.encode($0)) } : []),
            "parameters": .object(parameters),
            "info": .string(info.text),
        ]
    }

    /// A1111's `job_timestamp`: local time as YYYYmmddHHMMSS.
    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return formatter.string(from: date)
    }
}
