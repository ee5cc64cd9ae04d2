// Small line icons (inline SVG in currentColor, hidden from screen readers: their button or label names them).

const common = {
  width: 18,
  height: 18,
  viewBox: '0 0 24 24',
  fill: 'none',
  stroke: 'currentColor',
  'stroke-width': 2,
  'stroke-linecap': 'round',
  'stroke-linejoin': 'round',
  'aria-hidden': 'true',
  focusable: 'false',
} as const;

/** A bell: notifications on. */
export function BellIcon({ class: cls }: { class?: string }) {
  return (
    <svg {...common} class={cls}>
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}

/** A struck-through bell: notifications muted. */
export function BellOffIcon({ class: cls }: { class?: string }) {
  return (
    <svg {...common} class={cls}>
      <path d="M8.7 3A6 6 0 0 1 18 8a21.3 21.3 0 0 0 .6 5" />
      <path d="M17 17H3s3-2 3-9a4.67 4.67 0 0 1 .3-1.7" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      <path d="m2 2 20 20" />
    </svg>
  );
}

/** A calendar: the appointment. */
export function CalendarIcon({ class: cls }: { class?: string }) {
  return (
    <svg {...common} class={cls}>
      <rect x="3" y="4" width="18" height="18" rx="2" />
      <path d="M16 2v4M8 2v4M3 10h18" />
    </svg>
  );
}
