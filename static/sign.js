// Progressive enhancement of the sign form: shows, as the name is typed and a choice made,
// how the name will appear on the campaign page and in the lists handed over. Names are
// not always written given name first, and "first name and initial" takes the first word.
// Without this file the form explains the rule in words and works the same.
(function () {
  "use strict";

  // The server's clean_text (campaign/signing.py): line breaks and tabs become spaces,
  // invisible characters go, spaces collapse.
  function clean(value) {
    return value
      .normalize("NFC")
      .replace(/[\t\r\n]/g, " ")
      .replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}]/gu, "")
      .split(/\s+/)
      .filter(Boolean);
  }

  // The server's Signature.public_name (campaign/models.py).
  function publicName(name, display) {
    var parts = clean(name);
    if (display === "hidden" || parts.length === 0) {
      return null;
    }
    if (display === "full") {
      return parts.join(" ");
    }
    if (parts.length > 1) {
      return parts[0] + " " + Array.from(parts[parts.length - 1])[0] + ".";
    }
    return parts[0];
  }

  function enhance(form) {
    var preview = form.querySelector(".name-preview");
    var name = form.elements.namedItem("name");
    if (!preview || !name) {
      return;
    }
    function update() {
      var choice = form.querySelector('input[name="display"]:checked');
      var display = choice ? choice.value : "hidden";
      var shown = publicName(name.value, display);
      if (shown === null && display !== "hidden") {
        // Emptied too: the choices name it in aria-describedby, which reads hidden text.
        preview.textContent = "";
        preview.hidden = true;
        return;
      }
      preview.textContent =
        shown === null
          ? preview.dataset.notShown
          : preview.dataset.shownAs.replace("{name}", function () {
              return shown;
            });
      preview.hidden = false;
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  // After a POST each language is a form carrying what the sign form sent; it sends what
  // the sign form holds now instead, so a correction made since is not lost.
  function carryCurrentValues(signForm) {
    var switches = document.querySelectorAll("form.switch-language");
    for (var i = 0; i < switches.length; i++) {
      switches[i].addEventListener("submit", function (event) {
        var target = event.currentTarget;
        var carried = target.querySelectorAll('input[type="hidden"]');
        for (var j = 0; j < carried.length; j++) {
          carried[j].remove();
        }
        new FormData(signForm).forEach(function (value, name) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          input.value = value;
          target.appendChild(input);
        });
      });
    }
  }

  function start() {
    var forms = document.querySelectorAll("form.sign");
    for (var i = 0; i < forms.length; i++) {
      enhance(forms[i]);
    }
    if (forms.length) {
      carryCurrentValues(forms[0]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
