/* The monitoring station: the lanes, the travellers they referred (with the reason), a pending
   counter, and the full report of one with the officer's decision; for a supervisor also the
   overrides to review. Refreshed by lane events. */
"use strict";
(async () => {
  const me = await G.session(["officer", "supervisor"]);
  const reportBox = document.getElementById("report");
  const supervisor = me.role === "supervisor";
  if (supervisor) document.querySelector("[data-part=overrides]").classList.remove("hidden");

  // the supervisor's review: every override of the machine, with the officer's reason and note
  function showOverrides(list) {
    G.rows(document.getElementById("overrides"), list, (o) => G.el("tr", { "data-check": o.check_id },
      G.el("td", {}, G.el("time", { datetime: o.time, text: o.time.replace("T", " ").slice(5, 19) })),
      G.el("td", { text: o.account + " (" + o.role + ")" }),
      G.el("td", {}, G.status(o.automated), " to ", G.el("strong", { text: o.decision }), " ",
        G.el("span", { class: "code", text: o.reason })),
      G.el("td", { text: o.note || "(" + o.note_status + ")" }),
      G.el("td", {}, G.el("button", { type: "button", class: "secondary",
        "aria-label": "Open the report of the override at " + o.time.slice(11, 19),
        onclick: () => Report.show(reportBox, o.check_id, refresh), text: "Open" }))));
  }

  function show([board, overrides]) {
    document.getElementById("pending").textContent = String(board.pending);
    G.rows(document.getElementById("lanes"), board.lanes, (l) => G.el("tr", {},
      G.el("td", { text: l.device_id }), G.el("td", {}, G.status(l.state)),
      G.el("td", {}, G.status(l.health)), G.el("td", { text: String(l.checks) })));
    G.rows(document.getElementById("referrals"), board.referrals, (r) => G.el("tr", {},
      G.el("td", {}, G.el("time", { datetime: r.time, text: r.time.slice(11, 19) })),
      G.el("td", {}, r.reasons.map((code) => G.el("div", {}, G.reason(code)))),
      G.el("td", { text: r.officer_decision ? r.officer_decision.decision + " (" + r.officer_decision.account + ")" : "pending" }),
      G.el("td", {}, G.el("button", { type: "button", class: "secondary",
        "aria-label": "Open the report of the referral at " + r.time.slice(11, 19),
        onclick: () => Report.show(reportBox, r.check_id, refresh), text: "Open" }))));
    if (overrides) showOverrides(overrides.overrides);
  }

  const refresh = G.newest(() => Promise.all([G.api("GET", "/referrals"),
    supervisor ? G.api("GET", "/overrides?recent=50") : null]), show);

  await refresh();
  const lane = await G.api("GET", "/lane");
  const events = new EventSource("/api/v1/lane/events?since=" + lane.last_event);
  for (const type of ["decision", "state"]) events.addEventListener(type, () => refresh());
  document.body.dataset.ready = "1";
})();
