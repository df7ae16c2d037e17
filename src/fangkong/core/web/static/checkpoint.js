// The checkpoint form proposes the referral at once: a temperature at or above the fever line turns a
// person's disposition from "passed" to "referred" as it is typed (the server enforces the same rule;
// letting the person pass needs a stated reason). No inline script: the CSP forbids it.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form.passage[data-fever]");
  if (!form) return;
  var fever = parseFloat(form.getAttribute("data-fever"));
  form.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.name || !/^people\.\d+\.temperature_c$/.test(input.name)) return;
    var value = parseFloat(input.value.replace("，", ".").replace(",", "."));
    var select = form.querySelector('select[name="' + input.name.replace("temperature_c", "disposition") + '"]');
    if (!select || isNaN(value)) return;
    if (value >= fever && select.value === "passed") {
      select.value = "referred";
      select.classList.add("proposed");
    }
  });
});
