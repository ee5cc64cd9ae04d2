// The composer: Enter sends (not during IME composition), Shift+Enter is a newline, whitespace-only and over-limit text are not sent; every change of the text is reported (typing).
import type { RefObject } from 'preact';
import { useLayoutEffect, useState } from 'preact/hooks';
import { checkContent, codePointLength } from '../validate';

interface Props {
  inputRef: RefObject<HTMLTextAreaElement>;
  limit: number;
  onSend: (text: string) => void;
  /** Every change of the text, typed or cleared (for the typing indicator). */
  onText: (text: string) => void;
}

const MAX_HEIGHT = 160;

export function Composer({ inputRef, limit, onSend, onText }: Props) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const length = codePointLength(text);
  const over = length > limit;

  // grow with the text up to a few lines (CSSOM, allowed by the CSP)
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT)}px`;
  }, [text]);

  const send = () => {
    const check = checkContent(text, limit);
    if (!check.ok) {
      setError(check.reason === 'too_long' ? tooLongText(check.length, limit) : null);
      return;
    }
    onSend(text);
    setText('');
    setError(null);
    inputRef.current?.focus();
  };

  const shownError = over ? tooLongText(length, limit) : error;

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="message-input" class="sr-only">
        메시지 입력
      </label>
      <textarea
        id="message-input"
        ref={inputRef}
        data-testid="message-input"
        class="composer-input"
        rows={1}
        placeholder="메시지를 입력하세요"
        value={text}
        aria-invalid={over ? 'true' : undefined}
        aria-describedby={shownError ? 'composer-error' : undefined}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setError(null);
          onText(e.currentTarget.value);
        }}
        onKeyDown={(e) => {
          if (e.key !== 'Enter' || e.shiftKey) return;
          if (e.isComposing || e.keyCode === 229) return; // Korean IME: Enter commits the syllable
          e.preventDefault();
          send();
        }}
      />
      <button type="submit" class="button primary send" data-testid="send-button">
        전송
      </button>
      {shownError && (
        <p id="composer-error" class="composer-error error" role="alert" data-testid="composer-error">
          {shownError}
        </p>
      )}
    </form>
  );
}

function tooLongText(length: number, limit: number): string {
  return `메시지는 ${limit.toLocaleString('ko-KR')}자까지 보낼 수 있습니다 (현재 ${length.toLocaleString('ko-KR')}자).`;
}
