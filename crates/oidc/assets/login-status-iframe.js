// The session iframe of OpenID Connect Session Management, as keycloak-js drives it.
//
// The application posts "<client_id> <sid>" (sid from its tokens, or empty); the answer is
// "unchanged", "changed" or "error". The first message asks the server (`.../init`) whether
// that client allows the sender's origin; the answer binds this frame to that client and
// origin for good. After that the sid is compared with the KEYCLOAK_SESSION cookie, which the
// server sets at login to base64url(SHA-256(sid)) and removes at logout.

let verified = null;
let askedServer = false;

window.addEventListener("message", async (event) => {
  if (typeof event.data !== "string") {
    return;
  }
  const parts = event.data.split(" ");
  if (parts.length !== 2) {
    return;
  }
  const [clientId, sessionId] = parts;
  const status = await sessionStatus(clientId, event.origin, sessionId);
  event.source.postMessage(status, event.origin);
});

async function sessionStatus(clientId, origin, sessionId) {
  if (!(await storageAccess())) {
    return "error";
  }
  if (!verified) {
    // One question to the server per frame: a page cannot use this frame to probe clients.
    if (askedServer) {
      return "error";
    }
    askedServer = true;
    const url = new URL(location.origin + location.pathname + "/init");
    url.searchParams.set("client_id", clientId);
    url.searchParams.set("origin", origin);
    const response = await fetch(url);
    if (!response.ok) {
      return "error";
    }
    verified = { clientId, origin };
  }
  if (clientId !== verified.clientId || origin !== verified.origin) {
    return "error";
  }
  const cookie = readCookie("KEYCLOAK_SESSION");
  if (!cookie) {
    return sessionId === "" ? "unchanged" : "changed";
  }
  return (await sha256Base64Url(sessionId)) === cookie ? "unchanged" : "changed";
}

// Storage Access API: where the browser partitions third-party cookies, ask for access (no
// prompt without a user gesture; a refusal means the cookie cannot be read).
async function storageAccess() {
  if (!("hasStorageAccess" in document)) {
    return true;
  }
  if (await document.hasStorageAccess()) {
    return true;
  }
  try {
    await document.requestStorageAccess();
    return true;
  } catch {
    return false;
  }
}

function readCookie(name) {
  for (const pair of document.cookie.split(";")) {
    const at = pair.indexOf("=");
    if (at > 0 && pair.slice(0, at).trim() === name) {
      const value = pair.slice(at + 1).trim();
      return value.length > 1 && value.startsWith('"') && value.endsWith('"')
        ? value.slice(1, -1)
        : value;
    }
  }
  return null;
}

async function sha256Base64Url(text) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const byte of digest) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
