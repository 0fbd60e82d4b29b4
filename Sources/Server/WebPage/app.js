// sdgen's web page: A1111's /sdapi/v1 API from plain JavaScript.
"use strict";
const $ = (id) => document.getElementById(id);
const api = async (path, body) => {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.detail) || `${response.status} ${response.statusText}`);
  return data;
};
const fileAsBase64 = (file) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(file);
});

async function loadChoices() {
  const [samplers, schedulers, options] = await Promise.all([
    api("/sdapi/v1/samplers"), api("/sdapi/v1/schedulers"), api("/sdapi/v1/options")]);
  for (const sampler of samplers) $("sampler_name").add(new Option(sampler.name, sampler.name));
  for (const schedule of schedulers) $("scheduler").add(new Option(schedule.label, schedule.name));
  $("model").textContent = options.sd_model_checkpoint;
}

function showImages(answer) {
  const info = JSON.parse(answer.info);
  $("results").replaceChildren(...answer.images.map((image, i) => {
    const figure = document.createElement("figure");
    figure.className = "result";
    const img = document.createElement("img");
    img.src = "data:image/png;base64," + image;
    img.alt = info.infotexts[i];
    const text = document.createElement("pre");
    text.textContent = info.infotexts[i];
    figure.append(img, text);
    return figure;
  }));
}

async function loadHistory() {
  const items = await api("/sdgen/v1/history");
  $("history").replaceChildren(...items.map((item) => {
    const div = document.createElement("div");
    div.className = "history-item";
    const img = document.createElement("img");
    img.src = item.url;
    img.alt = item.infotext;
    img.title = item.infotext;
    img.loading = "lazy";
    img.onclick = () => window.open(item.url);
    div.append(img);
    return div;
  }));
}

let polling = null;
function startProgress() {
  $("progress-box").hidden = false;
  $("progress").value = 0;
  $("preview").removeAttribute("src");
  polling = setInterval(async () => {
    try {
      const state = await api("/sdapi/v1/progress?skip_current_image=false");
      $("progress").value = state.progress;
      const s = state.state;
      $("progress-text").textContent = s.sampling_steps
        ? `image ${s.job_no + 1}/${s.job_count}, step ${s.sampling_step}/${s.sampling_steps}, ${state.eta_relative.toFixed(1)} s left`
        : (s.queued ? `waiting (${s.queued} in the queue)` : "starting");
      if (state.current_image) $("preview").src = "data:image/png;base64," + state.current_image;
    } catch (_) { /* the next poll will tell */ }
  }, 500);
}
function stopProgress() {
  clearInterval(polling);
  $("progress-box").hidden = true;
}

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").hidden = true;
  const body = {
    prompt: $("prompt").value, negative_prompt: $("negative_prompt").value,
    width: +$("width").value, height: +$("height").value, steps: +$("steps").value,
    cfg_scale: +$("cfg_scale").value, seed: +$("seed").value, scheduler: $("scheduler").value,
  };
  if ($("sampler_name").value) body.sampler_name = $("sampler_name").value;
  let path = "/sdapi/v1/txt2img";
  const init = $("init_image").files[0];
  $("generate").disabled = true;
  $("interrupt").disabled = false;
  try {
    if (init) {
      path = "/sdapi/v1/img2img";
      body.init_images = [await fileAsBase64(init)];
      body.denoising_strength = +$("denoising_strength").value;
      const mask = $("mask").files[0];
      if (mask) {
        body.mask = await fileAsBase64(mask);
        body.inpaint_full_res = $("inpaint_area").value === "masked";
        body.inpaint_full_res_padding = +$("inpaint_full_res_padding").value;
      }
    }
    startProgress();
    showImages(await api(path, body));
    await loadHistory();
  } catch (error) {
    $("error").textContent = error.message;
    $("error").hidden = false;
  } finally {
    stopProgress();
    $("generate").disabled = false;
    $("interrupt").disabled = true;
  }
});
$("interrupt").addEventListener("click", () => api("/sdapi/v1/interrupt", {}));

loadChoices().catch((error) => { $("error").textContent = error.message; $("error").hidden = false; });
loadHistory().catch(() => {});
