// keycloak-js's third-party cookie check, first step: if this frame may use cookies at all,
// set two test cookies and go on to step 2, which reads them back; otherwise say so now.

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

if (await storageAccess()) {
  document.cookie = "KEYCLOAK_3P_COOKIE_SAMESITE=supported; Max-Age=60; SameSite=None; Secure";
  document.cookie = "KEYCLOAK_3P_COOKIE=supported; Max-Age=60";
  window.location = "step2.html";
} else {
  window.parent.postMessage("unsupported", "*");
}
