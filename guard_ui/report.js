/* One check's report for the officer and the monitoring station: the decision, every check
   with its status and plain reason (code beside it), DG1, the chip photo beside the live
   capture with score and threshold, liveness, watchlist, validity, the document's timeline,
   and the officer's decision form (a note is required when it overrides the machine). */
"use strict";

const Report = {
  async show(container, checkId, onDecided) {
    container.replaceChildren(G.el("p", { role: "status", text: "Loading the report..." }));
    const [check, person] = await Promise.all([
      G.api("GET", "/checks/" + encodeURIComponent(checkId)),
      G.api("GET", "/checks/" + encodeURIComponent(checkId) + "/person"),
    ]);
    container.replaceChildren(...Report.render(check, person, onDecided));
    container.dataset.checkId = checkId;
  },

  /* The check as it goes on: one row per step as its outcome arrives (the lane's
     `step_result` events: status and reason code), before the full report. */
  live(container, checkId) {
    const rows = G.el("tbody", { id: "live-steps" });
    container.replaceChildren(G.el("section", { "aria-labelledby": "r-live", "data-part": "live" },
      G.el("h2", { id: "r-live", text: "Checks so far" }),
      G.el("table", {},
        G.el("thead", {}, G.el("tr", {}, ["Check", "Status", "Reason"].map((h) => G.el("th", { scope: "col", text: h })))),
        rows)));
    container.dataset.checkId = checkId;
    return rows;
  },

  liveRow(rows, step) {
    rows.append(G.el("tr", { "data-step": step.step },
      G.el("td", { text: G.STEPS[step.step] || step.step }),
      G.el("td", {}, G.status(step.status)),
      G.el("td", {}, G.reason(step.reason))));
  },

  render(check, person, onDecided) {
    const report = check.report || {};
    const steps = report.steps || [];
    const byName = Object.fromEntries(steps.map((s) => [s.name, s]));
    const decision = check.decision;
    const out = [];
    out.push(G.el("section", { "aria-labelledby": "r-decision", "data-part": "decision" },
      G.el("h2", { id: "r-decision", text: "Result" }),
      G.el("p", {}, G.el("span", { class: "decision status " + decision, text: decision })),
      G.el("ul", {}, (check.reasons || []).map((r) => G.el("li", {}, G.reason(r)))),
    ));
    out.push(Report.faces(person, byName.biometrics));
    out.push(G.el("section", { "aria-labelledby": "r-summary" },
      G.el("h2", { id: "r-summary", text: "Key checks" }),
      G.el("dl", { class: "grid" },
        ["biometrics", "watchlist", "document_validity", "authenticity"].flatMap((name) => {
          const s = byName[name] || {};
          return [G.el("dt", { text: name === "biometrics" ? "Liveness and face" : G.STEPS[name] }),
                  G.el("dd", {}, G.status(s.status || "skipped"), " ", G.reason(s.reason))];
        })),
    ));
    out.push(Report.dg1(person.dg1));
    out.push(G.el("section", { "aria-labelledby": "r-steps", "data-part": "checks" },
      G.el("h2", { id: "r-steps", text: "Every check" }),
      G.el("table", {},
        G.el("thead", {}, G.el("tr", {}, ["Check", "Status", "Reason", "Detail"].map((h) => G.el("th", { scope: "col", text: h })))),
        G.el("tbody", {}, steps.map((s) => G.el("tr", {},
          G.el("td", { text: G.STEPS[s.name] || s.name }),
          G.el("td", {}, G.status(s.status)),
          G.el("td", {}, G.reason(s.reason)),
          G.el("td", { text: s.detail || "" }),
        ))),
      ),
    ));
    out.push(Report.timeline(person.timeline || []));
    out.push(Report.central(person.central || { central: "not_enrolled", checks: [] }));
    out.push(Report.decisionForm(check, person, onDecided));
    return out;
  },

  faces(person, step) {
    const face = person.face || {};
    const chip = person.chip_photo
      ? G.el("img", { src: person.chip_photo, alt: "Photo stored in the chip" })
      : G.el("div", { class: "none", text: "No chip photo" });
    const live = person.live_capture
      ? G.el("img", { src: person.live_capture, alt: "Live capture at the lane" })
      : G.el("div", { class: "none", text: "No live capture (no face step, or an older check)" });
    const score = face.score === null || face.score === undefined ? "no score" : "score " + face.score;
    const threshold = face.threshold === null || face.threshold === undefined ? "" : ", threshold " + face.threshold;
    return G.el("section", { "aria-labelledby": "r-faces", "data-part": "faces" },
      G.el("h2", { id: "r-faces", text: "Faces" }),
      G.el("div", { class: "faces" },
        G.el("figure", {}, chip, G.el("figcaption", { text: "Chip photo" })),
        G.el("figure", {}, live, G.el("figcaption", { text: "Live capture" })),
      ),
      G.el("p", {}, "Face: ", G.status((step && step.status) || face.status || "skipped"), " ",
        score + threshold, " ", G.reason(face.reason)),
      G.el("p", {}, "Liveness: ", G.status((person.liveness && person.liveness.status) || "skipped")),
    );
  },

  dg1(dg1) {
    const rows = [["Surname", dg1.surname], ["Given names", dg1.given_names],
      ["Date of birth", dg1.date_of_birth], ["Document number", dg1.document_number],
      ["Nationality", dg1.nationality], ["Issuing state", dg1.issuing_state],
      ["Document type", dg1.document_type]];
    return G.el("section", { "aria-labelledby": "r-dg1", "data-part": "dg1" },
      G.el("h2", { id: "r-dg1", text: "Data page (chip DG1)" }),
      G.el("dl", { class: "grid" }, rows.flatMap(([k, v]) => [G.el("dt", { text: k }), G.el("dd", { text: v || "-" })])));
  },

  central(answer) {
    const why = {
      not_enrolled: "This device is not enrolled with the central system.",
      no_national_key: "No national pseudonymisation key on this device.",
      offline: "The central system did not answer: only this device's history is shown.",
      refused: "The central system refused the query.",
      not_in_build: "This build has no central sync.",
      no_document: "No document to look up.",
    };
    const checks = answer.checks || [];
    return G.el("section", { "aria-labelledby": "r-central", "data-part": "central" },
      G.el("h2", { id: "r-central", text: "This document at other checkpoints (central system)" }),
      answer.central !== "ok" ? G.el("p", { class: "muted", text: why[answer.central] || answer.central }) :
        checks.length === 0 ? G.el("p", { class: "muted", text: "No check known centrally." }) :
          G.el("ol", { class: "timeline" }, checks.map((e) => G.el("li", {},
            G.el("time", { datetime: e.time, text: String(e.time).replace("T", " ").slice(0, 19) + " UTC" }), " - ",
            G.el("strong", { text: e.outcome || "" }), " ",
            G.el("span", { class: "code", text: (e.reasons || []).join(", ") }), " ",
            G.el("span", { class: "muted", text: (e.location || "") + " (" + (e.device_id || "?") + ")" }),
          ))));
  },

  timeline(events) {
    return G.el("section", { "aria-labelledby": "r-timeline", "data-part": "timeline" },
      G.el("h2", { id: "r-timeline", text: "This document's history on this device" }),
      events.length === 0 ? G.el("p", { class: "muted", text: "No earlier record." }) :
        G.el("ol", { class: "timeline" }, events.map((e) => G.el("li", {},
          G.el("time", { datetime: e.time, text: e.time.replace("T", " ").slice(0, 19) + " UTC" }), " - ",
          e.type === "check" ? "check: " : "officer (" + (e.account || "?") + "): ",
          G.el("strong", { text: e.outcome }), " ",
          G.el("span", { class: "code", text: (e.reasons || []).join(", ") }), " ",
          G.el("span", { class: "muted", text: e.location || "" }),
        ))));
  },

  decisionForm(check, person, onDecided) {
    const reasons = person.decision_reasons || {};
    const automated = check.decision;
    const already = person.officer_decision;
    const select = G.el("select", { id: "d-reason", name: "reason", required: true });
    const note = G.el("textarea", { id: "d-note", name: "note", maxlength: "500" });
    const hint = G.el("p", { id: "d-hint", class: "muted", "aria-live": "polite" });
    const result = G.el("p", { id: "d-result", role: "status" });
    const choices = [["admit", "Admit"], ["refuse", "Refuse"], ["second_line", "Second line"]];
    const overrides = (value) => (automated === "REFER" ? value === "admit" : value !== "admit");
    const chosen = () => (form.querySelector("input[name=decision]:checked") || {}).value;
    const update = () => {
      const value = chosen();
      select.replaceChildren(...(reasons[value] || []).map((r) => G.el("option", { value: r, text: r.toLowerCase().replace(/_/g, " ") })));
      const isOverride = value && overrides(value);
      note.required = Boolean(isOverride);
      hint.textContent = isOverride ? "This overrides the machine's " + automated + ": a note is required." : "";
    };
    const form = G.el("form", { id: "decision-form", novalidate: true },
      G.el("fieldset", {}, G.el("legend", { text: "Officer's decision" }),
        choices.map(([value, text]) => G.el("label", {},
          G.el("input", { type: "radio", name: "decision", value, onchange: update }), text))),
      G.el("label", { for: "d-reason", text: "Reason" }), select,
      G.el("label", { for: "d-note", text: "Note" }), note, hint,
      G.el("button", { type: "submit", text: "Record decision" }), result);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const decision = chosen();
      if (!decision) { result.textContent = "Choose admit, refuse or second line."; return; }
      if (note.required && note.value.trim().length < 3) {
        result.textContent = "An override needs a note."; note.focus(); return;
      }
      try {
        const done = await G.api("POST", "/checks/" + encodeURIComponent(check.check_id) + "/decision",
          { decision, reason: select.value, note: note.value });
        result.textContent = "Recorded: " + done.decision + (done.override ? " (override)" : "") +
          ", history record " + done.history_index + ".";
        if (onDecided) onDecided(done);
      } catch (e) {
        result.textContent = "Not recorded: " + G.plain(e.reason || "") + " (" + (e.reason || e.message) + ")";
      }
    });
    return G.el("section", { "aria-labelledby": "r-decide", "data-part": "decide" },
      G.el("h2", { id: "r-decide", text: "Decide" }),
      already ? G.el("p", { text: "Already recorded: " + already.decision + " by " + already.account + (already.override ? " (override)" : "") }) : null,
      form);
  },
};
