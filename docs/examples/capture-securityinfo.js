// Capture the SecurityInfo Firefox hands RootSentinel for a page, to judge it with
// `rootsentinel check FILE.json`. Paste into the console of the RootSentinel extension
// (about:debugging#/runtime/this-firefox, RootSentinel, "Inspect"), then load the page in a tab.
// The end-to-end test tests/e2e/test_firefox_e2e.py runs this same file.
window.__securityInfo = null;
browser.webRequest.onHeadersReceived.addListener((details) => {
  if (details.type !== "main_frame") return undefined;
  // immediately, inside a blocking listener: the only place getSecurityInfo answers
  browser.webRequest.getSecurityInfo(details.requestId, { certificateChain: true, rawDER: true })
    .then((info) => {
      window.__securityInfo = JSON.stringify(info, null, 1);
      console.log(`captured the SecurityInfo of ${details.url}: run copy(window.__securityInfo) and save it as a .json file`);
    });
  return undefined;
}, { urls: ["https://*/*"] }, ["blocking"]);
true;
