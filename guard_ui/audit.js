/* The auditor's view: the newest history records, pseudonymised (no personal data). */
"use strict";
(async () => {
  await G.session(["auditor", "supervisor"]);
  const records = (await G.api("GET", "/history?recent=100")).records;
  document.getElementById("records").replaceChildren(...records.map((r) => G.el("tr", {},
    G.el("td", { text: String(r.index) }), G.el("td", { text: r.time.replace("T", " ").slice(0, 19) }),
    G.el("td", { text: r.type }), G.el("td", { text: r.outcome }),
    G.el("td", { class: "code", text: r.reasons.join(", ") }), G.el("td", { text: r.proven ? "yes" : "NO" }))));
  document.body.dataset.ready = "1";
})();
