// The traveller's kiosk: shows the screen the service names, nothing more.
//
// The service folds the lane's events into screens (appliance/api/kiosk_view.py) and streams
// them (/api/v1/kiosk/events, server-sent events). This page translates and shows them. It
// keeps two safeguards of its own: a result (gate open, see an officer) is shown only for the
// check it belongs to and never longer than the service said, and a lost connection shows the
// lane as closed until the stream is back (EventSource reconnects by itself and the service
// then sends the screen as it is now).
(() => {
  "use strict";

  const LANGUAGES = ["en", "fr", "de", "es", "ar", "zh"];
  const DEFAULT_LANGUAGE = "en";
  const RESULTS = new Set(["result-open", "result-refer", "unreadable", "tailgating", "timeout"]);
  const EVENTS_URL = "/api/v1/kiosk/events";
  const PREVIEW_URL = "/api/v1/kiosk/preview.mjpg";
  const QUALITY_URL = "/api/v1/kiosk/preview/quality";
  const SPEECH_URL = "/api/v1/kiosk/speech";
  const OFFLINE_AFTER_MS = 2000;

  const catalogues = {};
  const state = {
    screen: null, checkId: null, version: 0,
    documentLanguage: null, chosenLanguage: null, language: DEFAULT_LANGUAGE,
    instruction: null, fault: "lane", countdownEnd: 0, snapshot: true, review: false,
    speech: false, spoken: "",
  };
  const timers = { expiry: 0, offline: 0, countdown: 0, quality: 0 };
  // what was shown when (tests and benchmarks/kiosk.py read it)
  const trace = [];
  window.kioskTrace = trace;

  const root = document.documentElement;
  const sections = () => document.querySelectorAll("main [data-screen]");

  function t(key, vars) {
    const text = (catalogues[state.language] || {})[key] ?? (catalogues.en || {})[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars?.[name] ?? ""));
  }

  async function loadCatalogues() {
    await Promise.all(LANGUAGES.map(async (code) => {
      const response = await fetch(`i18n/${code}.json`, { cache: "no-cache" });
      catalogues[code] = await response.json();
    }));
  }

  function translate() {
    const catalogue = catalogues[state.language] || {};
    root.lang = state.language;
    root.dir = catalogue._dir === "rtl" ? "rtl" : "ltr";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-alt]").forEach((el) => { el.alt = t(el.dataset.i18nAlt); });
    document.querySelectorAll("button.lang").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.language));
    });
    const fault = document.getElementById("fault");
    fault.textContent = t(`fault.${state.fault || "lane"}`);
    document.querySelectorAll("[data-quality]").forEach((el) => { el.textContent = t(el.dataset.quality); });
    const instruction = state.instruction === "turn_head_right" ? "turn_head_right" : "turn_head_left";
    document.getElementById("liveness-instruction").textContent = t(`liveness.${instruction}`);
    renderCountdown();
  }

  function setLanguage(code) {
    state.language = LANGUAGES.includes(code) ? code : DEFAULT_LANGUAGE;
    translate();
    announce();
    speak();
  }

  // spoken prompts (espeak-ng on the service): the screen's own words, once per screen and language
  const voice = new Audio();
  function speak() {
    if (!state.speech || !state.screen) return;
    const prompt = state.screen === "liveness"
      ? `liveness-${state.instruction === "turn_head_right" ? "turn_head_right" : "turn_head_left"}`
      : state.screen;
    const url = `${SPEECH_URL}?lang=${state.language}&prompt=${encodeURIComponent(prompt)}`;
    if (url === state.spoken) return;
    state.spoken = url;
    voice.pause();
    voice.src = url;
    voice.play().catch(() => { /* no sound device, or the browser refused: the screen still shows it */ });
  }

  function effectiveLanguage() {
    return state.chosenLanguage || state.documentLanguage || DEFAULT_LANGUAGE;
  }

  function announce() {
    const section = document.querySelector(`main [data-screen="${state.screen}"]`);
    if (!section) return;
    const parts = [...section.querySelectorAll("h1, .body, #fault, #countdown")]
      .map((el) => el.textContent.trim()).filter(Boolean);
    document.getElementById("announce").textContent = parts.join(" ");
  }

  function renderCountdown() {
    const el = document.getElementById("countdown");
    const left = Math.max(0, Math.ceil((state.countdownEnd - Date.now()) / 1000));
    el.textContent = state.screen === "liveness" && state.countdownEnd ? t("liveness.countdown", { n: left }) : "";
  }

  function setPreview(on) {
    document.querySelectorAll("img.preview").forEach((img) => {
      const section = img.closest("[data-screen]");
      const wanted = on && section.dataset.screen === state.screen ? PREVIEW_URL : "";
      if (wanted && !img.getAttribute("src")) img.src = `${wanted}?t=${Date.now()}`;
      if (!wanted && img.getAttribute("src")) img.removeAttribute("src");
    });
    clearInterval(timers.quality);
    if (on) {
      timers.quality = setInterval(pollQuality, 500);
      pollQuality();
    }
  }

  async function pollQuality() {
    try {
      const response = await fetch(QUALITY_URL, { cache: "no-store" });
      if (!response.ok) return;
      const { instruction } = await response.json();
      const key = instruction ? `quality.${instruction}` : "face.body";
      document.querySelectorAll("[data-quality]").forEach((el) => {
        if (el.dataset.quality !== key) { el.dataset.quality = key; el.textContent = t(key); }
      });
    } catch { /* the stream's own error handling shows the lane closed */ }
  }

  function show(screen, message) {
    const previous = state.screen;
    state.screen = screen;
    for (const section of sections()) section.hidden = section.dataset.screen !== screen;
    document.body.dataset.screenShown = screen;
    const head = document.querySelector(".head");
    head.classList.toggle("turn-left", state.instruction === "turn_head_left");
    head.classList.toggle("turn-right", state.instruction === "turn_head_right");
    clearInterval(timers.countdown);
    if (screen === "liveness") timers.countdown = setInterval(renderCountdown, 250);
    setPreview(!state.review && (screen === "face-capture" || screen === "liveness"));
    translate();
    if (screen !== previous) announce();
    speak();
    const entry = {
      screen, at: Date.now(), painted_at: null, version: message?.version ?? null,
      check_id: message?.check_id ?? null, event_seq: message?.event_seq ?? null,
      event_time: message?.event_time ?? null, language: state.language,
      snapshot: Boolean(message?.snapshot),
    };
    trace.push(entry);
    if (trace.length > 2000) trace.shift();
    // the frame that shows it has been painted once the task after the next frame runs
    requestAnimationFrame(() => setTimeout(() => { entry.painted_at = Date.now(); }, 0));
  }

  function apply(message) {
    clearTimeout(timers.expiry);
    const snapshot = state.snapshot;
    state.snapshot = false;
    message.snapshot = snapshot;
    if (message.check_id !== state.checkId) {
      if (message.check_id || message.screen === "idle") {
        // a new traveller, or the lane ready again: the last traveller's choices go
        if (state.checkId) state.chosenLanguage = null;
        state.documentLanguage = null;
        if (state.checkId && message.screen === "idle") {
          root.classList.remove("hc");
          state.speech = false;
          syncContrast();
        }
      }
      if (message.check_id || !RESULTS.has(message.screen)) state.checkId = message.check_id;
    }
    let screen = message.screen;
    if (RESULTS.has(screen)) {
      // a result shows for its own check only, and only as long as the service allows
      const own = message.check_id === state.checkId || snapshot;
      if (!own || !(message.expires_in_ms > 0)) screen = "idle";
      else timers.expiry = setTimeout(() => show("idle", { version: message.version }), message.expires_in_ms);
    }
    if (message.language) state.documentLanguage = message.language;
    state.instruction = message.instruction;
    state.fault = message.fault;
    if (screen === "liveness" && message.countdown_s) state.countdownEnd = Date.now() + message.countdown_s * 1000;
    if (screen !== "liveness") state.countdownEnd = 0;
    state.version = message.version;
    state.language = effectiveLanguage();
    show(screen, message);
  }

  function offline() {
    state.fault = "connection";
    state.checkId = null;
    show("out-of-service", null);
  }

  function connect() {
    const source = new EventSource(EVENTS_URL);
    source.addEventListener("open", () => {
      clearTimeout(timers.offline);
      timers.offline = 0;
      state.snapshot = true;
    });
    source.addEventListener("screen", (event) => apply(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      // each failed reconnection fires again: the first one starts the clock
      if (!timers.offline) timers.offline = setTimeout(offline, OFFLINE_AFTER_MS);
    });
  }

  function syncContrast() {
    document.getElementById("contrast").setAttribute("aria-pressed", String(root.classList.contains("hc")));
    document.getElementById("speech").setAttribute("aria-pressed", String(state.speech));
  }

  function wire() {
    document.querySelectorAll("button.lang").forEach((button) => {
      button.addEventListener("click", () => {
        state.chosenLanguage = button.dataset.lang;
        setLanguage(state.chosenLanguage);
      });
    });
    document.getElementById("contrast").addEventListener("click", () => {
      root.classList.toggle("hc");
      syncContrast();
    });
    document.getElementById("speech").addEventListener("click", () => {
      state.speech = !state.speech;
      state.spoken = "";
      if (!state.speech) voice.pause();
      syncContrast();
      speak();
    });
  }

  async function start() {
    wire();
    await loadCatalogues();
    const params = new URLSearchParams(location.search);
    const preview = params.get("preview");  // one screen, without the lane (review, tests)
    if (preview) {
      state.review = true;  // no lane behind it: no camera either
      state.language = LANGUAGES.includes(params.get("lang")) ? params.get("lang") : DEFAULT_LANGUAGE;
      state.chosenLanguage = state.language;
      state.instruction = params.get("instruction");
      state.fault = params.get("fault") || "lane";
      if (preview === "liveness") state.countdownEnd = Date.now() + 4000;
      show(preview, null);
      return;
    }
    state.language = DEFAULT_LANGUAGE;
    offline();
    connect();
  }

  start();
})();
