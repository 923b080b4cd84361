/* The guard's screens: the API client (session cookie + CSRF token), element helper, and the
   plain-language text of the reason codes. No framework, no build step. */
"use strict";

const G = {
  csrf: null,
  me: null,

  async api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && G.csrf) headers["X-CSRF-Token"] = G.csrf;
    const response = await fetch("/api/v1" + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) data = await response.json();
    if (response.status === 401 && path !== "/session") {
      location.href = "index.html?ended=" + encodeURIComponent((data && data.reason) || "AUTH_REQUIRED");
      throw new Error("not logged in");
    }
    if (!response.ok) {
      const error = new Error((data && data.detail) || response.statusText);
      error.reason = data && data.reason;
      error.status = response.status;
      throw error;
    }
    return data;
  },

  /* The session (after a reload the CSRF token is read again); redirects to login if none. */
  async session(roles) {
    const me = await G.api("GET", "/session");
    G.me = me;
    G.csrf = me.csrf_token;
    if (roles && !roles.includes(me.role)) {
      location.href = G.home(me.role);
      throw new Error("not this page");
    }
    const who = document.getElementById("who");
    if (who) who.textContent = me.account + " (" + me.role + ")";
    G.nav(me.role);
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", G.logout);
    return me;
  },

  async logout() {
    try { await G.api("DELETE", "/session"); } finally { location.href = "index.html"; }
  },

  /* The pages a role may open, in its header (none for a role with one page): the rules of
     appliance/accounts/rules.py decide what each page may call, this only saves typing. */
  PAGES: [["officer.html", "officer", "Document check", ["officer", "supervisor"]],
          ["monitor.html", "monitor", "Monitoring", ["officer", "supervisor"]],
          ["maintenance.html", "maintenance", "Maintenance", ["technician", "supervisor"]],
          ["audit.html", "audit", "Audit", ["auditor", "supervisor"]],
          ["users.html", "users", "Accounts", ["supervisor"]]],

  nav(role) {
    const header = document.querySelector("header.bar");
    const pages = G.PAGES.filter((p) => p[3].includes(role));
    if (!header || pages.length < 2) return;
    const here = document.body.dataset.page;
    header.querySelector("h1").after(G.el("nav", { "aria-label": "Pages", id: "pages" },
      G.el("ul", {}, pages.map(([href, page, text]) => G.el("li", {},
        G.el("a", { href, "data-nav": page, "aria-current": page === here ? "page" : null, text }))))));
  },

  home(role) {
    return { officer: "officer.html", supervisor: "monitor.html",
             technician: "maintenance.html", auditor: "audit.html" }[role] || "index.html";
  },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  /* Fill a table body from `rows`, but only when they differ from what it shows: a page that
     refreshes on every lane event must not replace a button under the pointer, or take the
     keyboard focus away from it, when nothing in the table changed. */
  shown: new WeakMap(),

  /* A loader whose answers may come back out of order (the service answers requests in
     parallel, and lane events call it in bursts): only the newest call's answer is rendered,
     so a staler answer arriving last cannot take a new referral off the screen. */
  newest(fetch, render) {
    let latest = 0;
    return async () => {
      const mine = ++latest;
      const data = await fetch();
      if (mine === latest) render(data);
    };
  },
  rows(body, rows, build) {
    const key = JSON.stringify(rows);
    if (G.shown.get(body) === key) return;
    G.shown.set(body, key);
    body.replaceChildren(...rows.map(build));
  },

  status(value) {
    return G.el("span", { class: "status " + value, text: G.STATUS[value] || value });
  },

  /* "Plain reason (CODE)" */
  reason(code) {
    if (!code) return G.el("span", { text: "" });
    return G.el("span", {}, G.plain(code), " ", G.el("span", { class: "code", text: "(" + code + ")" }));
  },

  plain(code) {
    return G.REASONS[code] || code.toLowerCase().replace(/_/g, " ");
  },

  STATUS: { pass: "passed", fail: "failed", warn: "warning", skipped: "not done",
            OPEN: "OPEN", REFER: "REFER", ADVISE: "ADVISE" },

  STEPS: { document_presence: "Document on the reader", mrz: "Printed MRZ",
           chip_access: "Chip opened", data_groups: "Chip data read",
           authenticity: "Document genuine (chip signatures)", document_validity: "Document validity",
           watchlist: "Watchlist", repeated_use: "Earlier use", seal: "Visa seal",
           biometrics: "Face and liveness", gate_sensors: "Gate sensors" },

  REASONS: {
    OK: "no problem found",
    PA_DG_HASH_MISMATCH: "chip data was altered after issue",
    PA_SIGNATURE_INVALID: "the chip's signature is not valid",
    PA_DS_UNTRUSTED: "signed by an authority this device does not trust",
    PA_DS_REVOKED: "the signing certificate was revoked",
    PA_CERT_EXPIRED: "a signing certificate has expired",
    PA_SOD_MISSING: "the chip carries no security object",
    CHIP_CLONE_SUSPECTED: "the chip may be a copy",
    CA_FAILED: "chip authentication failed", AA_FAILED: "active authentication failed",
    DG1_MRZ_MISMATCH: "chip data differs from the printed page",
    DOCUMENT_EXPIRED: "the document has expired",
    WATCHLIST_HIT: "the document is on the watchlist",
    REPEATED_USE: "the document was used again within the time window",
    FACE_NO_MATCH: "the face does not match the chip photo",
    LIVENESS_FAILED: "liveness check failed",
    CHIP_NOT_PRESENT: "no chip found", PACE_FAILED: "the chip refused the access key",
    BAC_FAILED: "the chip refused the access key", CHIP_COMMUNICATION: "the chip stopped answering",
    MRZ_CHECK_DIGIT: "a check digit of the printed MRZ is wrong",
    MRZ_UNREADABLE: "the printed MRZ could not be read",
    LANE_OUT_OF_SERVICE: "the lane is out of service", LANE_BUSY: "the lane is busy",
    LANE_MAINTENANCE: "out of service for maintenance",
    CRL_STALE: "a revocation list is overdue", CRL_MISSING: "an issuer has no revocation list",
    TRUST_STORE_EMPTY: "no trusted issuing authority",
    DECISION_NOTE_REQUIRED: "an override needs a note",
    AUTH_FAILED: "wrong account name or password", ACCOUNT_LOCKED: "account locked for a while",
    LOGIN_THROTTLED: "too many attempts: wait a minute", SESSION_EXPIRED: "the session ended",
    AUTH_REQUIRED: "please log in",
    ACCOUNT_EXISTS: "an account of that name exists", ACCOUNT_UNKNOWN: "no such account",
    PASSWORD_WEAK: "the password is too short (at least 12 characters)",
    ROLE_FORBIDDEN: "not allowed for this role", CSRF_INVALID: "the page's token is stale: reload",
    USAGE: "not accepted as typed",
  },
};
