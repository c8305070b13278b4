// The colour scheme chosen on this page (remembered), applied before the page is drawn so
// that it never flashes in the other one. Without a choice the page follows the system's
// (prefers-color-scheme, in page.css). The toggle is in page.js.
"use strict";
(function () {
  let theme = null;
  try {
    theme = localStorage.getItem("matgrad-theme");
  } catch (e) {
    // storage is off (a private window, a policy): follow the system
  }
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
})();
