// Entry of the test application: one uncaught error and one unhandled rejection.
import { loadProfile, onCheckout } from "./checkout.js";

window.runCheckout = () => setTimeout(() => onCheckout(), 0);
window.runProfile = () => {
  loadProfile();
};
