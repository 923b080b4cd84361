"use strict";
(() => {
  const ended = new URLSearchParams(location.search).get("ended");
  if (ended) document.getElementById("ended").textContent = "Logged out: " + G.plain(ended) + ".";
  document.getElementById("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("error");
    error.textContent = "";
    try {
      const me = await G.api("POST", "/session", {
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      });
      location.href = G.home(me.role);
    } catch (e) {
      error.textContent = G.plain(e.reason || "AUTH_FAILED") + (e.reason ? " (" + e.reason + ")" : "");
    }
  });
})();
