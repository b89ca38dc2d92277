// An in-page confirmation (a modal <dialog>, not window.confirm): a message and two buttons,
// data-testid="confirm-dialog" with "confirm-ok" and "confirm-cancel". Escape cancels.
import { h } from "../dom";

export interface ConfirmOptions {
  confirmLabel?: string;
  cancelLabel?: string;
}

/** Resolves true when the user confirms. */
export function confirmDialog(message: string, options: ConfirmOptions = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const ok = h(
      "button",
      { class: "primary", testid: "confirm-ok", attrs: { type: "button" } },
      options.confirmLabel ?? "OK",
    );
    const cancel = h(
      "button",
      { testid: "confirm-cancel", attrs: { type: "button" } },
      options.cancelLabel ?? "Cancel",
    );
    const dialog = h(
      "dialog",
      { class: "confirm-dialog", testid: "confirm-dialog" },
      h("p", {}, message),
      h("div", { class: "toolbar" }, h("div", { class: "spacer" }), cancel, ok),
    );
    let answer = false;
    ok.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
