// #/signin: the user + password form. On success, the console returns to the page the user
// wanted (the `next` parameter) or the catalog.
import { errorMessage, signIn } from "../api";
import { h } from "../dom";
import type { PageContext } from "../router";
import type { Session } from "../types";

export function renderSignIn(
  view: HTMLElement,
  context: PageContext,
  onSignedIn: (session: Session, next: string) => void,
): void {
  const user = h("input", {
    testid: "signin-user",
    attrs: {
      name: "user",
      autocomplete: "username",
      required: "",
      autocapitalize: "off",
      spellcheck: "false",
    },
  });
  const password = h("input", {
    testid: "signin-password",
    attrs: { name: "password", type: "password", autocomplete: "current-password", required: "" },
  });
  const submit = h(
    "button",
    { class: "primary", testid: "signin-submit", attrs: { type: "submit" } },
    "Sign in",
  );
  const error = h("p", { class: "error-box", testid: "signin-error", attrs: { role: "alert" } });
  error.hidden = true;

  const form = h(
    "form",
    { class: "signin", attrs: { "aria-labelledby": "signin-title" } },
    h("h1", { attrs: { id: "signin-title" } }, "Sign in to loch"),
    h("label", {}, "User", user),
    h("label", {}, "Password", password),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const session = await signIn(user.value, password.value);
      onSignedIn(session, context.params.get("next") ?? "/catalog");
    } catch (failure) {
      error.textContent = errorMessage(failure);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });

  view.append(form);
  user.focus();
}
