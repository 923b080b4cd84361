/* The technician's page: health, self-test, gate test, models, trust material, imports, logs
   and the diagnostics bundle. Nothing here shows a traveller. */
"use strict";
(async () => {
  await G.session(["technician", "supervisor"]);
  const $ = (id) => document.getElementById(id);
  const rows = (id, items, cells) => $(id).replaceChildren(...items.map((item) => G.el("tr", {}, cells(item).map((c) => G.el("td", {}, c)))));

  async function overview() {
    const o = await G.api("GET", "/maintenance/overview");
    const lane = o.lane || {};
    const pairs = [["Lane", G.status(lane.state || "unknown")], ["Health", G.status(lane.health || "unknown")],
      ["Device", o.device_id + " (" + o.mode + (o.simulated ? ", simulated" : "") + ")"],
      ["Uptime", Math.round(o.uptime_s) + " s"],
      ["CPU temperature", o.cpu_temperature_c === null ? "not readable" : o.cpu_temperature_c + " C"],
      ["Disk free", (o.disk.free_bytes / 1e9).toFixed(1) + " GB of " + (o.disk.total_bytes / 1e9).toFixed(1)],
      ["Version", o.versions["border-appliance"] || "-"]];
    $("overview").replaceChildren(...pairs.flatMap(([k, v]) => [G.el("dt", { text: k }), G.el("dd", {}, v)]));
  }

  async function selftest() {
    $("selftest-status").textContent = "Running the self-test...";
    const report = await G.api("GET", "/selftest");
    $("selftest-status").textContent = "Self-test: " + (G.STATUS[report.status] || report.status) + ".";
    rows("selftest", report.checks, (c) => [c.name, G.status(c.status), G.reason(c.reason), c.detail || ""]);
  }

  async function trust() {
    const t = await G.api("GET", "/maintenance/trust");
    rows("cscas", Object.entries(t.csca_per_country), ([country, n]) => [country, String(n)]);
    rows("master-lists", t.master_lists || [], (l) => [l.signed_at || "-", l.signer_country || "?",
      String(l.entries), String(l.added), G.el("span", { class: "code", text: String(l.sha256).slice(0, 16) })]);
    rows("crls", t.crls, (c) => [c.issuer || "?", c.next_update || "-",
      c.overdue ? G.el("span", { class: "alarm", text: "OVERDUE" }) : G.status("pass")]);
    $("crl-alarm").textContent = t.crl_overdue ? "A revocation list is past its next update: import a new CRL." : "";
    const w = t.watchlist, p = t.policy;
    $("artefacts").replaceChildren(
      G.el("dt", { text: "Watchlist" }), G.el("dd", { text: w.version ? "version " + w.version + ", " + w.entries + " entries, " + w.age_h + " h old" : "none (" + (w.reason || "-") + ")" }),
      G.el("dt", { text: "Policy" }), G.el("dd", { text: p.version ? "version " + p.version + " (" + p.name + ")" + (p.age_h !== undefined ? ", " + p.age_h + " h old" : "") : "refused (" + p.reason + ")" }),
      G.el("dt", { text: "Sources" }), G.el("dd", { text: (t.sources || []).join(", ") || "-" }));
  }

  async function models() {
    const m = (await G.api("GET", "/maintenance/models")).models;
    rows("models", m, (x) => [x.name, x.origin === "sync" ? "sent by the authority" : "shipped",
      x.reason ? G.el("span", { class: "alarm", text: G.plain(x.reason) + " (" + x.reason + ")" }) : String(x.version || "-"),
      G.el("span", { class: "code", text: x.sha256 || "-" })]);
  }

  async function logs(event) {
    if (event) event.preventDefault();
    const q = new URLSearchParams({ level: $("log-level").value, contains: $("log-filter").value, limit: "200" });
    const lines = (await G.api("GET", "/maintenance/logs?" + q)).lines;
    $("logs").textContent = lines.map((l) => [l.time, l.level, l.logger, l.event].join(" ")).join("\n") || "(no lines)";
  }

  $("run-selftest").addEventListener("click", () => selftest().catch((e) => { $("selftest-status").textContent = e.message; }));
  $("gate-test").addEventListener("click", async () => {
    $("gate-result").textContent = "Gate test running: lane out of service...";
    try {
      const r = await G.api("POST", "/maintenance/gate-test");
      $("gate-result").textContent = "Gate test " + (G.STATUS[r.status] || r.status) + ": " +
        r.steps.map((s) => s.action + " -> " + (s.gate || s.error)).join(", ") + ".";
    } catch (e) {
      $("gate-result").textContent = "Gate test not run: " + G.plain(e.reason || "") + " (" + (e.reason || e.message) + ")";
    }
    overview();
  });
  $("logs-form").addEventListener("submit", logs);

  const base64 = (file) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = reject;
    reader.readAsDataURL(file);
  });
  $("import").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("import-file").files[0];
    const signature = $("import-signature").files[0];
    if (!file) return;
    try {
      const r = await G.api("POST", "/maintenance/import", {
        kind: $("import-kind").value, content_b64: await base64(file),
        signature_b64: signature ? await base64(signature) : null,
        filename: file.name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100) || "upload",
      });
      $("import-result").textContent = "Imported " + r.kind + ": " + G.plain(r.reason) + ".";
      trust();
    } catch (e) {
      $("import-result").textContent = "Refused: " + G.plain(e.reason || "") + " (" + (e.reason || e.message) + ")";
    }
  });

  await Promise.all([overview(), trust(), models(), logs()]);
  document.body.dataset.ready = "1";
  // health at a glance: each part (reader, camera, gate, MRZ scanner, disk, ...) from the
  // self-test, run once as the page opens (the button runs it again)
  selftest().catch((e) => { $("selftest-status").textContent = e.message; });
})();
