// The room's appointment (약속): its card under the header (when and where, in local time, with cancel) and the modal form that sets or moves it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../errors';
import { APPOINTMENT_PLACE_MAX, appointmentBody, appointmentPast, appointmentTime, localInputValue, type AppointmentBody } from '../listing';
import { apiErrorText } from '../net/api';
import type { Appointment } from '../types';
import { CalendarIcon } from './icons';

export function AppointmentCard({
  appointment,
  now,
  busy,
  onCancel,
}: {
  appointment: Appointment;
  now: number;
  busy: boolean;
  onCancel: () => void;
}) {
  const past = appointmentPast(appointment, now);
  return (
    <section class={`appointment-card${past ? ' past' : ''}`} data-testid="appointment-card" aria-label="약속">
      <CalendarIcon class="appointment-icon" />
      <div class="appointment-text">
        <p class="appointment-when">
          <time dateTime={appointment.at} data-testid="appointment-when">
            {appointmentTime(appointment.at, now)}
          </time>
          {past && <span class="muted"> · 지난 약속</span>}
        </p>
        <p class="appointment-place" data-testid="appointment-where">
          {appointment.place}
        </p>
      </div>
      <button type="button" class="button ghost small" data-testid="appointment-cancel" onClick={onCancel} disabled={busy}>
        약속 취소
      </button>
    </section>
  );
}

interface DialogProps {
  /** The appointment being moved, or null for a new one. */
  current: Appointment | null;
  save: (body: AppointmentBody) => Promise<void>;
  onDone: () => void;
  onCancel: () => void;
}

/** The form, a modal <dialog> mounted only while open (each opening starts from the room's appointment). */
export function AppointmentDialog({ current, save, onDone, onCancel }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [at, setAt] = useState(() => (current ? localInputValue(new Date(current.at)) : ''));
  const [place, setPlace] = useState(current?.place ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
    };
  }, []);

  const submit = async () => {
    if (busy) return;
    const body = appointmentBody(at, place);
    if ('error' in body) {
      setError(errorText(body.error));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await save(body);
      onDone();
    } catch (e) {
      setError(apiErrorText(e));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={ref}
      class="dialog appointment-dialog"
      data-testid="appointment-dialog"
      aria-labelledby="appointment-title"
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <form
        method="dialog"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h2 id="appointment-title" class="dialog-title">
          {current ? '약속 변경' : '약속 잡기'}
        </h2>
        <p class="dialog-text">만날 시간과 장소를 정하면 상대방에게도 보여요.</p>
        <label class="field-label" for="appointment-at">
          날짜와 시간
        </label>
        <input
          id="appointment-at"
          data-testid="appointment-at"
          type="datetime-local"
          min={localInputValue(new Date())}
          value={at}
          onInput={(e) => {
            setAt(e.currentTarget.value);
            setError(null);
          }}
        />
        <label class="field-label" for="appointment-place">
          장소
        </label>
        <input
          id="appointment-place"
          data-testid="appointment-place"
          type="text"
          maxLength={APPOINTMENT_PLACE_MAX}
          placeholder="예: 강남역 2번 출구"
          autoComplete="off"
          value={place}
          onInput={(e) => {
            setPlace(e.currentTarget.value);
            setError(null);
          }}
        />
        {error && (
          <p class="error dialog-error" role="alert" data-testid="appointment-error">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="button ghost" data-testid="appointment-dialog-cancel" onClick={onCancel} disabled={busy}>
            닫기
          </button>
          <button type="submit" class="button primary" data-testid="appointment-save" disabled={busy}>
            {busy ? '저장하는 중…' : '저장'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
