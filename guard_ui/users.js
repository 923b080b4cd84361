/* The supervisor's accounts: list, add (name, role, password), disable, reset a password,
   through /api/v1/users (the CSRF token on every change). Each change is in the history. */
"use strict";
(async () => {
  const me = await G.session(["supervisor"]);
  const result = document.getElementById("users-result");
  const say = (text) => { result.textContent = text; };
  const refused = (what, e) => say(what + " refused: " + G.plain(e.reason || "") + " (" + (e.reason || e.message) + ")");

  function state(a) {
    if (a.disabled) return "disabled";
    if (a.locked_until) return "locked until " + a.locked_until.replace("T", " ");
    return "active";
  }

  async function load() {
    const accounts = (await G.api("GET", "/users")).accounts;
    document.getElementById("accounts").replaceChildren(...accounts.map((a) => G.el("tr", { "data-account": a.name },
      G.el("td", { text: a.name }), G.el("td", { text: a.role }), G.el("td", { text: state(a) }),
      G.el("td", {}, a.disabled || a.name === me.account ? "-" :
        G.el("button", { type: "button", class: "secondary", "aria-label": "Disable " + a.name,
          onclick: () => disable(a.name), text: "Disable" })))));
    const select = document.getElementById("reset-name");
    const chosen = select.value;
    select.replaceChildren(...accounts.filter((a) => a.name !== me.account).map((a) => G.el("option", { value: a.name, text: a.name })));
    if (chosen) select.value = chosen;
  }

  async function disable(name) {
    try {
      await G.api("POST", "/users/" + encodeURIComponent(name) + "/disable");
      say("Disabled " + name + ": no more logins, its sessions ended.");
    } catch (e) { refused("Disable", e); }
    await load();
  }

  document.getElementById("add-user").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (id) => document.getElementById(id).value;
    try {
      const made = await G.api("POST", "/users", { name: value("new-name").trim(), role: value("new-role"), password: value("new-password") });
      say("Added " + made.name + " (" + made.role + ").");
      event.target.reset();
    } catch (e) { refused("Add", e); }
    await load();
  });

  document.getElementById("reset-user").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = document.getElementById("reset-name").value;
    const password = document.getElementById("reset-password");
    try {
      await G.api("POST", "/users/" + encodeURIComponent(name) + "/reset", { password: password.value });
      say("New password for " + name + ": enabled and unlocked.");
      password.value = "";
    } catch (e) { refused("Reset", e); }
    await load();
  });

  await load();
  document.body.dataset.ready = "1";
})();
