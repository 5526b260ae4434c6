// keycloak-js's third-party cookie check, second step: are step 1's test cookies readable
// here? Remove them and tell the embedding page. The answer is no secret, so any page may
// hear it.

const supported = document.cookie.includes("KEYCLOAK_3P_COOKIE");
if (supported) {
  document.cookie = "KEYCLOAK_3P_COOKIE_SAMESITE=; Max-Age=0";
  document.cookie = "KEYCLOAK_3P_COOKIE=; Max-Age=0";
}
window.parent.postMessage(supported ? "supported" : "unsupported", "*");
