#!/usr/bin/env python3
"""End-to-end check of `sdgen serve` with real clients (run by CI).

Starts `sdgen serve` over the tiny random-weight fixture model
(Tests/Fixtures/pipeline) and checks, one PASS/FAIL line per step:

  a. the server starts on port 0 and prints its port;
  b. the real `webuiapi` package: txt2img equal pixel for pixel to the CLI's
     PNG for the same parameters, img2img, models/samplers/options, png-info;
  c. plain HTTP: 8 concurrent requests, progress and interrupt of a long job,
     422 for a malformed body, 413 for one over --max-body, still serving after;
  d. --api-auth: 401 without credentials, 200 with;
  e. SIGTERM during a job: exit 0 within 10 s, the client gets 503 or a
     closed connection, and no file is written;
  f. the web page in headless Chromium (Selenium): generate, result, history,
     and a screenshot (SKIP when Chromium is missing, unless --require-browser).

Exit status 1 when any step fails. Needs: pip install -r scripts/serve/requirements.txt
(and, for step f, Debian's chromium and chromium-driver).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "Tests" / "Fixtures" / "pipeline"
PROMPT = "a red cube on a table"
LONG_JOB = {"prompt": "a long job", "width": 128, "height": 128, "steps": 400, "seed": 11}

failures: list[str] = []


def report(step: str, ok: bool | None, detail: str) -> None:
    word = {True: "PASS", False: "FAIL", None: "SKIP"}[ok]
    print(f"{word} {step}: {detail}", flush=True)
    if ok is False:
        failures.append(step)


class Check:
    """Collects the problems of one step; `expect` records one that is false."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []

    def expect(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition


# MARK: - The server


class Server:
    """`sdgen serve --port 0` in a temporary folder whose weights/tiny is the fixture."""

    def __init__(self, sdgen: Path, *extra: str, name: str = "server") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"sdgen-{name}-"))
        (self.dir / "weights").mkdir()
        (self.dir / "weights" / "tiny").symlink_to(FIXTURE)
        self.outputs = self.dir / "outputs"
        self.stderr_path = self.dir / "stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [str(sdgen), "serve", "--port", "0", "--outputs", str(self.outputs), *extra],
            cwd=self.dir, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self.port: int | None = None
        self.stdout_lines: list[str] = []
        found = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.stdout_lines.append(line.rstrip("\n"))
                match = re.search(r"sdgen serving at http://[^/]*:(\d+)/", line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        found.wait(60)
        if self.port is None:
            self.stop()
            raise RuntimeError(f"no 'sdgen serving at' line within 60 s; stdout: {self.stdout_lines!r}; "
                               f"stderr: {self.stderr_tail()!r}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr_tail(self, lines: int = 10) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; the exit status; the folder removed."""
        status = self.process.poll()
        if status is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                status = self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                status = self.process.wait()
        self._stderr.close()
        self.final_stderr = self.stderr_tail()
        shutil.rmtree(self.dir, ignore_errors=True)
        return status

    final_stderr = ""


class Answer:
    def __init__(self, status: int | None, body: bytes, error: str | None = None) -> None:
        self.status = status
        self.body = body
        self.error = error  # a connection error: no HTTP answer at all

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.error or self.body[:200]!r}>"


def http(base: str, path: str, body=None, *, headers: dict | None = None, raw: bytes | None = None,
         timeout: float = 60) -> Answer:
    """One request with urllib (no retries); HTTP errors are answers, connection errors are `error`."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method="GET" if data is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read())
    except Exception as error:  # connection refused/reset, timeout, closed without answer
        return Answer(None, b"", f"{type(error).__name__}: {error}")


def wait_for_running_step(base: str, seconds: float = 30) -> dict | None:
    """Polls /progress until a job reports a sampling step; its answer, or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = http(base, "/sdapi/v1/progress?skip_current_image=true", timeout=5)
        if answer.status == 200:
            state = answer.json()
            if state["state"]["sampling_step"] > 0 and 0 < state["progress"] < 1:
                return state
        time.sleep(0.1)
    return None


def decode_pixels(png: bytes):
    import numpy as np
    from PIL import Image
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


# MARK: - The steps


def step_webuiapi(sdgen: Path, server: Server) -> None:
    import numpy as np
    import webuiapi
    from PIL import Image

    check = Check()
    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port)
    api.set_options({"randn_source": "CPU"})
    check.expect(api.get_options().get("randn_source") == "CPU", "set_options did not set randn_source")

    result = api.txt2img(prompt=PROMPT, negative_prompt="blurry", seed=7, steps=5, width=32, height=32,
                         cfg_scale=5.0, sampler_name="Euler")
    image = result.image
    check.expect(isinstance(image, Image.Image) and image.size == (32, 32), f"txt2img image is {image!r}")
    check.expect(result.info.get("all_seeds") == [7], f"all_seeds {result.info.get('all_seeds')!r}")
    infotext = (result.info.get("infotexts") or [""])[0]
    check.expect(infotext.startswith(PROMPT), f"infotexts[0] {infotext[:60]!r}")

    # The CLI's PNG for the same parameters, over the same model folder.
    cli_png = server.dir / "cli.png"
    cli = subprocess.run([str(sdgen), PROMPT, "--weights", str(server.dir / "weights" / "tiny"),
                          "--negative-prompt", "blurry", "--seed", "7", "--steps", "5", "--width", "32",
                          "--height", "32", "--guidance", "5", "--scheduler", "euler", "--rng", "torch",
                          "-o", str(cli_png)], capture_output=True, text=True, timeout=120)
    if check.expect(cli.returncode == 0 and cli_png.exists(), f"the CLI failed ({cli.returncode}): {cli.stderr[-300:]}"):
        served_png = base64.b64decode(result.json["images"][0])
        served, from_cli = decode_pixels(served_png), decode_pixels(cli_png.read_bytes())
        same = served.shape == from_cli.shape and np.array_equal(served, from_cli)
        difference = int(np.abs(served.astype(int) - from_cli.astype(int)).max()) if served.shape == from_cli.shape else -1
        check.expect(same, f"pixels differ from the CLI's PNG (max difference {difference})")
        if same:
            check.notes.append("pixels == CLI's" + (", PNG bytes too" if served_png == cli_png.read_bytes() else ""))

    # img2img from the image just made.
    start = Image.open(io.BytesIO(base64.b64decode(result.json["images"][0]))).convert("RGB")
    # width/height: webuiapi's default is 512x512, and A1111 (as sdgen) resizes the image to them.
    second = api.img2img(images=[start], prompt="a blue cube", denoising_strength=0.5, steps=4, seed=3,
                         width=32, height=32)
    check.expect(len(second.images) == 1 and second.image.size == (32, 32),
                 f"img2img gave {[i.size for i in second.images]}")
    check.expect(second.info.get("all_seeds") == [3], f"img2img all_seeds {second.info.get('all_seeds')!r}")

    models = api.get_sd_models()
    check.expect(isinstance(models, list) and any(m.get("title") == "tiny" for m in models), f"sd-models {models!r}")
    samplers = api.get_samplers()
    check.expect(isinstance(samplers, list) and "Euler" in [s.get("name") for s in samplers], f"samplers {samplers!r}")
    options = api.get_options()
    check.expect(options.get("sd_model_checkpoint") == "tiny", f"options {options!r}")

    # png-info: webuiapi re-encodes the PIL image, keeping its text chunks; the raw PNG too.
    info = api.png_info(image)
    via_client = info.info if isinstance(info.info, str) else ""
    check.expect(via_client == infotext, f"webuiapi png_info gave {via_client[:80]!r}")
    raw = http(server.base, "/sdapi/v1/png-info", {"image": result.json["images"][0]})
    check.expect(raw.status == 200 and raw.json().get("info") == infotext, f"raw png-info {raw!r}")
    if raw.status == 200:
        parameters = raw.json().get("parameters", {})
        check.expect(parameters.get("Seed") == "7" and parameters.get("Prompt") == PROMPT,
                     f"png-info parameters {parameters!r}")

    report("b webuiapi", not check.problems,
           "; ".join(check.problems) or "txt2img 32x32 seed 7 (" + ", ".join(check.notes)
           + "), img2img, sd-models, samplers, options, png-info")


def step_plain_http(server: Server) -> None:
    check = Check()
    base = server.base

    # Eight clients at once.
    answers: list[Answer | None] = [None] * 8

    def one(i: int) -> None:
        answers[i] = http(base, "/sdapi/v1/txt2img",
                          {"prompt": f"client {i}", "seed": i, "steps": 3, "width": 32, "height": 32})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    good = [a for a in answers if a is not None and a.status == 200 and len(a.json().get("images", [])) == 1]
    check.expect(len(good) == 8, f"concurrent: {answers!r}")
    seeds = sorted(json.loads(a.json()["info"])["all_seeds"][0] for a in good)
    check.expect(seeds == list(range(8)) or len(good) != 8, f"concurrent seeds {seeds}")

    # Progress of a long job, then interrupt.
    long_answer: list[Answer] = []
    runner = threading.Thread(target=lambda: long_answer.append(http(base, "/sdapi/v1/txt2img", LONG_JOB, timeout=600)))
    runner.start()
    state = wait_for_running_step(base)
    if check.expect(state is not None, "progress never showed 0 < progress < 1 with a running step"):
        interrupted_at = time.monotonic()
        stop = http(base, "/sdapi/v1/interrupt", {})
        check.expect(stop.status == 200, f"interrupt answered {stop!r}")
        runner.join(10)
        took = time.monotonic() - interrupted_at
        check.expect(not runner.is_alive(), "the interrupted job did not answer within 10 s")
        if long_answer:
            answer = long_answer[0]
            if check.expect(answer.status == 200, f"interrupted job answered {answer!r}"):
                check.expect(len(answer.json()["images"]) == 1, "interrupted job: not one image")
                check.notes.append(f"interrupted at step {state['state']['sampling_step']}/400 "
                                   f"(progress {state['progress']:.3f}), answered in {took:.1f} s")
    else:
        http(base, "/sdapi/v1/interrupt", {})
        runner.join(30)

    # Bad bodies.
    malformed = http(base, "/sdapi/v1/txt2img", raw=b'{"prompt": "unterminated')
    check.expect(malformed.status == 422, f"malformed body: {malformed!r}")
    wrong_type = http(base, "/sdapi/v1/txt2img", {"prompt": "x", "steps": "many"})
    check.expect(wrong_type.status == 422 and wrong_type.json().get("field") == "steps", f"steps 'many': {wrong_type!r}")
    big = {"prompt": "x", "init_images": ["A" * (2 << 20)]}
    too_big = http(base, "/sdapi/v1/txt2img", big)
    check.expect(too_big.status == 413, f"2 MB body over --max-body 1MB: {too_big!r}")

    after = http(base, "/sdapi/v1/txt2img", {"prompt": "after", "seed": 1, "steps": 3, "width": 32, "height": 32})
    check.expect(after.status == 200 and len(after.json()["images"]) == 1, f"request after the errors: {after!r}")
    report("c plain HTTP", not check.problems,
           "; ".join(check.problems) or "8 concurrent -> 8x200; " + "; ".join(check.notes)
           + "; malformed -> 422, 2 MB -> 413, then 200")


def step_auth(sdgen: Path) -> None:
    check = Check()
    server = Server(sdgen, "--api-auth", "alice:pw", name="auth")
    try:
        without = http(server.base, "/sdapi/v1/options")
        check.expect(without.status == 401, f"no credentials: {without!r}")
        check.expect(without.status != 401 or b"" != without.body, "401 without a body")
        token = base64.b64encode(b"alice:pw").decode()
        good = http(server.base, "/sdapi/v1/options", headers={"Authorization": f"Basic {token}"})
        check.expect(good.status == 200 and "sd_model_checkpoint" in good.json(), f"with credentials: {good!r}")
        wrong = http(server.base, "/sdapi/v1/options",
                     headers={"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()})
        check.expect(wrong.status == 401, f"wrong password: {wrong!r}")
    finally:
        server.stop()
    report("d auth", not check.problems, "; ".join(check.problems) or "no credentials 401, wrong 401, alice:pw 200")


def step_sigterm(sdgen: Path) -> None:
    check = Check()
    server = Server(sdgen, name="sigterm")
    outputs = server.outputs
    answers: list[Answer] = []
    runner = threading.Thread(target=lambda: answers.append(
        http(server.base, "/sdapi/v1/txt2img", {**LONG_JOB, "save_images": True}, timeout=30)))
    try:
        runner.start()
        state = wait_for_running_step(server.base)
        if check.expect(state is not None, "the job never reported a running step"):
            sent = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            try:
                status = server.process.wait(10)
                took = time.monotonic() - sent
                check.expect(status == 0, f"exit status {status}")
                check.notes.append(f"exited {status} in {took:.1f} s at step {state['state']['sampling_step']}")
            except subprocess.TimeoutExpired:
                check.expect(False, "still running 10 s after SIGTERM")
        runner.join(20)
        check.expect(not runner.is_alive(), "the client hung")
        if answers:
            answer = answers[0]
            check.expect(answer.status == 503 or answer.status is None, f"the client got {answer!r}")
            check.notes.append(f"client got {answer.status or answer.error}")
        files = [str(p) for p in outputs.rglob("*") if not p.is_dir()] if outputs.exists() else []
        check.expect(not files, f"files written: {files}")
    finally:
        server.stop()
    report("e SIGTERM", not check.problems, "; ".join(check.problems) or "; ".join(check.notes) + "; no file written")


def step_browser(server: Server, screenshot: Path, require: bool) -> None:
    missing = [p for p in ("/usr/bin/chromium", "/usr/bin/chromedriver") if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        report("f browser", False if require else None, "missing " + ", ".join(missing))
        return

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    check = Check()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.get(server.base + "/")
        wait = WebDriverWait(driver, 30)
        # The choices arrive from /samplers and /schedulers: wait for them before submitting.
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scheduler option")) > 0)
        prompt = driver.find_element(By.ID, "prompt")
        prompt.clear()
        prompt.send_keys("a lighthouse on a cliff")
        for field, value in (("width", 64), ("height", 64), ("steps", 8), ("seed", 1)):
            element = driver.find_element(By.ID, field)
            element.clear()
            element.send_keys(str(value))
        invalid_controls = ("return [...document.querySelectorAll('#form input, #form textarea, #form select')]"
                            ".filter(e => !e.checkValidity())"
                            ".map(e => `#${e.id} value ${JSON.stringify(e.value)}: ${e.validationMessage}`)")
        invalid = driver.execute_script(invalid_controls)
        if invalid:
            # The browser would refuse the submission without a word: Generate would do nothing.
            raise AssertionError("the browser refuses to submit the form (Generate does nothing): " + "; ".join(invalid))
        driver.find_element(By.ID, "generate").click()
        try:
            WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results figure img")
                                            or d.find_element(By.ID, "error").is_displayed())
        except TimeoutException:
            # Say why: a form control the browser finds invalid blocks the submission without a word.
            invalid = driver.execute_script(invalid_controls)
            raise AssertionError("no result within 60 s of clicking Generate"
                                 + (f"; the browser refuses to submit the form: {'; '.join(invalid)}" if invalid else "")
                                 + f"; progress text {driver.find_element(By.ID, 'progress-text').text!r}") from None
        error = driver.find_element(By.ID, "error")
        check.expect(not error.is_displayed(), f"the page shows an error: {error.text!r}")
        images = driver.find_elements(By.CSS_SELECTOR, "#results figure.result img")
        if check.expect(len(images) == 1, f"{len(images)} result images"):
            WebDriverWait(driver, 10).until(lambda d: d.execute_script("return arguments[0].complete", images[0]))
            width = driver.execute_script("return arguments[0].naturalWidth", images[0])
            check.expect(width == 64, f"naturalWidth {width}")
            src = images[0].get_attribute("src") or ""
            check.expect(src.startswith("data:image/png;base64,"), f"img src {src[:40]!r}")
            text = driver.find_element(By.CSS_SELECTOR, "#results figure.result pre").text
            check.expect("a lighthouse on a cliff" in text, f"infotext {text[:80]!r}")
            check.expect("Seed: 1," in text and "Size: 64x64" in text and "Steps: 8" in text, f"infotext {text!r}")
        # app.js hides the progress bar and preview once the answer is in.
        check.expect(not driver.find_element(By.ID, "progress-box").is_displayed(),
                     "#progress-box is still shown after the answer (hidden attribute set, but CSS display wins)")
        try:
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#history img"))
        except Exception:
            check.expect(False, "#history shows no image")
        # Let the newest history image load before the picture is taken.
        WebDriverWait(driver, 10).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#history img')].slice(0, 4).every(i => i.complete)"))
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        check.expect(driver.save_screenshot(str(screenshot)), "no screenshot")
    finally:
        driver.quit()
    report("f browser", not check.problems,
           "; ".join(check.problems) or f"64x64 result with its infotext, history shown, screenshot {screenshot}")


def guarded(step: str, work, *args) -> None:
    try:
        work(*args)
    except Exception as error:
        report(step, False, f"{type(error).__name__}: {error}")
        if not isinstance(error, AssertionError):
            traceback.print_exc()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdgen", type=Path, default=REPO / ".build" / "release" / "sdgen")
    parser.add_argument("--screenshot", type=Path, default=REPO / "docs" / "images" / "serve-page.png")
    parser.add_argument("--require-browser", action="store_true", help="FAIL, not SKIP, without Chromium")
    args = parser.parse_args()
    sdgen = args.sdgen.resolve()
    started = time.monotonic()

    if not sdgen.exists():
        report("a start", False, f"no sdgen at {sdgen}")
        return 1
    try:
        server = Server(sdgen, "--max-body", "1MB", name="main")
    except Exception as error:
        report("a start", False, str(error))
        return 1
    try:
        report("a start", True, f"listening on port {server.port}")
        guarded("b webuiapi", step_webuiapi, sdgen, server)
        guarded("c plain HTTP", step_plain_http, server)
        guarded("d auth", step_auth, sdgen)
        guarded("e SIGTERM", step_sigterm, sdgen)
        guarded("f browser", step_browser, server, args.screenshot.resolve(), args.require_browser)
    finally:
        status = server.stop()
        if status not in (0, None):
            report("server exit", False, f"the main server exited with {status}; stderr: {server.final_stderr}")
    print(f"{'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'} "
          f"({time.monotonic() - started:.0f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
