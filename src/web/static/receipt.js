// Copy buttons on a receipt: the tracking code and the lookup token are
// shown as text the person can select anyway; with scripts on, a button
// beside each copies it in one step. Nothing else on the page needs this.
(function () {
  "use strict";
  if (!navigator.clipboard || !navigator.clipboard.writeText) return;
  var buttons = document.querySelectorAll("button.copy[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Đã chép";
        window.setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
})();
