// When something happened, as the dashboard shows it: "3 minutes ago", in the browser's language.
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function ago(timestamp: string): string {
  const seconds = Math.round((Date.parse(timestamp) - Date.now()) / 1000);
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
  }
  return relative.format(seconds, "second");
}
