/** The number and time formats every panel uses, so one figure reads the same wherever it shows. */
const counts = new Intl.NumberFormat("en-US");
const speeds = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export const count = (value) => counts.format(value);
export const speed = (value) => speeds.format(value);
export const percent = (rate) => `${(rate * 100).toFixed(1)}%`;
export const clock = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
