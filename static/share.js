// Progressive enhancement of the share bar: the browser's own share sheet where it has one,
// and a copy button. Without this file every share link still works.
(function () {
  "use strict";

  function copyFrom(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    // Older browsers and plain-HTTP previews: select the text and copy it.
    input.focus();
    input.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function enhance(section) {
    var shareButton = section.querySelector(".web-share button");
    if (shareButton && typeof navigator.share === "function") {
      shareButton.parentNode.hidden = false;
      shareButton.addEventListener("click", function () {
        navigator
          .share({
            title: shareButton.dataset.shareTitle,
            text: shareButton.dataset.shareText,
            url: shareButton.dataset.shareUrl,
          })
          .catch(function () {
            // Closing the share sheet is not an error worth showing.
          });
      });
    }

    var copyButton = section.querySelector("button.copy");
    var status = section.querySelector(".copied");
    if (copyButton) {
      var input = document.getElementById(copyButton.dataset.copy);
      copyButton.hidden = false;
      copyButton.addEventListener("click", function () {
        copyFrom(input).then(
          function () {
            if (status) {
              status.textContent = status.dataset.copied;
            }
          },
          function () {
            input.focus();
            input.select();
          }
        );
      });
    }
  }

  function start() {
    var sections = document.querySelectorAll("section.share, .copyable");
    for (var i = 0; i < sections.length; i++) {
      enhance(sections[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
