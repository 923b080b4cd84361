/* The officer's handheld screen: start a check (scanner, typed MRZ, number and dates, CAN),
   follow the lane as the check goes on (each check's row as its outcome arrives), and show the
   full report when the decision comes. */
"use strict";
(async () => {
  await G.session(["officer", "supervisor"]);
  const progress = document.getElementById("progress");
  const reportBox = document.getElementById("report");
  const form = document.getElementById("start");
  const STATES = { ready: "Ready.", waiting_document: "Place the document on the reader...",
    checking: "Reading the chip and checking the document...", remove_document: "Done: take the document back.",
    out_of_service: "The reader is out of service." };
  let lastCheck = null;
  // the check under way: its rows as they come, and when it started (for the fill times)
  let live = null;

  const how = () => form.querySelector("input[name=how]:checked").value;
  form.addEventListener("change", () => {
    for (const box of form.querySelectorAll("[data-how]")) box.classList.toggle("hidden", box.dataset.how !== how());
  });

  // a photo of the data page: the device reads its MRZ, the officer checks the lines
  document.getElementById("photo").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    progress.textContent = "Reading the MRZ from the photo...";
    const data = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = reject;
      reader.readAsDataURL(file);
    });
    try {
      const read = await G.api("POST", "/mrz/read", { image_b64: data });
      if (!read.lines) { progress.textContent = "MRZ not read: " + G.plain(read.reason) + " (" + read.reason + ")"; return; }
      document.getElementById("mrz").value = read.lines.join("\n");
      form.querySelector("input[name=how][value=mrz]").checked = true;
      form.dispatchEvent(new Event("change"));
      progress.textContent = "MRZ read (" + read.layout + "): check the lines, then start the check.";
    } catch (e) {
      progress.textContent = "Photo refused: " + G.plain(e.reason || "") + " (" + (e.reason || e.message) + ")";
    }
  });

  function body() {
    const value = (id) => document.getElementById(id).value.trim().toUpperCase();
    switch (how()) {
      case "mrz": return { mrz: value("mrz").split(/\s+/).filter(Boolean) };
      case "dates": return { document_number: value("number"), date_of_birth: value("birth"), date_of_expiry: value("expiry") };
      case "can": return { can: value("can") };
      default: return {};
    }
  }

  // the officer's recent checks (only the newest answer shown: see G.newest)
  const loadRecent = G.newest(() => G.api("GET", "/checks?recent=10"), ({ checks }) =>
    G.rows(document.getElementById("recent"), checks, (c) => G.el("li", {},
      G.el("button", { type: "button", class: "link", onclick: () => open(c.check_id),
        text: (c.finished_at || c.time || "").replace("T", " ").slice(0, 19) + " " + c.decision }),
      " ", G.el("span", { class: "code", text: (c.reasons || []).join(", ") }))));

  async function open(checkId) {
    lastCheck = checkId;
    const started = live && live.checkId === checkId ? live.started : performance.now();
    await Report.show(reportBox, checkId, () => loadRecent());
    reportBox.dataset.fillMs = String(Math.round(performance.now() - started));
    progress.textContent = "Report ready.";
    loadRecent();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await G.api("POST", "/checks", body());
      progress.textContent = STATES.waiting_document;
      reportBox.replaceChildren();
    } catch (e) {
      progress.textContent = "Not started: " + G.plain(e.reason || "") + " (" + (e.reason || e.message) + ")";
    }
  });

  // the lane's events: progress as the check goes on, the report when the decision comes
  const events = new EventSource("/api/v1/lane/events?since=" + (await G.api("GET", "/lane")).last_event);
  events.addEventListener("state", (e) => {
    const data = JSON.parse(e.data);
    if (STATES[data.state] && data.state !== "ready") progress.textContent = STATES[data.state];
    if (data.state === "checking" && data.check_id && (!live || live.checkId !== data.check_id)) {
      live = { checkId: data.check_id, started: performance.now(), rows: Report.live(reportBox, data.check_id) };
      delete reportBox.dataset.fillMs;
      delete reportBox.dataset.firstRowMs;
    }
  });
  // each check's outcome as soon as it is known: the report fills row by row
  events.addEventListener("step_result", (e) => {
    const data = JSON.parse(e.data);
    if (!live || data.check_id !== live.checkId || lastCheck === data.check_id) return;
    Report.liveRow(live.rows, data);
    if (!reportBox.dataset.firstRowMs) reportBox.dataset.firstRowMs = String(Math.round(performance.now() - live.started));
  });
  events.addEventListener("decision", (e) => {
    const data = JSON.parse(e.data);
    progress.textContent = "Decision: " + data.decision + ". Loading the report...";
    if (data.check_id !== lastCheck) open(data.check_id);
  });

  // simulated mode: a simulated traveller's document on the reader
  const health = await G.api("GET", "/health");
  if (health.simulated) {
    const kinds = (await G.api("GET", "/sim/kinds")).kinds;
    const select = document.getElementById("sim-kind");
    select.replaceChildren(...kinds.map((k) => G.el("option", { value: k, text: k.replace(/_/g, " ") })));
    document.getElementById("sim").classList.remove("hidden");
    document.getElementById("sim-present").addEventListener("click", async () => {
      try {
        const answer = await G.api("POST", "/sim/travellers", { kind: select.value });
        if (answer.check_id !== lastCheck) await open(answer.check_id);
      } catch (e) {
        progress.textContent = "Simulated document refused: " + (e.reason || e.message);
      }
    });
  }

  loadRecent();
  document.body.dataset.ready = "1";
})();
