// The sign-in form: a user id (header mode) or a token (jwt mode).
import { useState } from 'preact/hooks';
import type { AuthMode, Identity } from '../types';
import { isValidUserId, jwtSubject } from '../validate';

interface Props {
  mode: AuthMode;
  error: string | null;
  busy: boolean;
  onSubmit: (identity: Identity) => void;
  onInvalid: (error: string) => void;
}

export function Login({ mode, error, busy, onSubmit, onInvalid }: Props) {
  const [value, setValue] = useState('');

  const submit = (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const v = value.trim();
    if (mode === 'header') {
      if (!isValidUserId(v)) {
        onInvalid('사용자 ID는 1~128자의 영문, 숫자, - _ . @ : 만 쓸 수 있습니다.');
        return;
      }
      onSubmit({ mode: 'header', userId: v });
    } else {
      const sub = jwtSubject(v);
      if (!sub) {
        onInvalid('토큰 형식이 올바르지 않습니다.');
        return;
      }
      onSubmit({ mode: 'jwt', token: v, userId: sub });
    }
  };

  return (
    <main class="center-page">
      <form class="card login" onSubmit={submit} noValidate>
        <h1 class="brand">Re:Use 채팅</h1>
        <p class="muted">중고거래 채팅에 로그인하세요.</p>
        {mode === 'header' ? (
          <>
            <label for="login-user">사용자 ID</label>
            <input
              id="login-user"
              data-testid="login-user"
              type="text"
              autoComplete="username"
              autoCapitalize="off"
              spellcheck={false}
              maxLength={128}
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
              aria-invalid={error ? 'true' : undefined}
              aria-describedby={error ? 'login-error' : undefined}
              autoFocus
            />
          </>
        ) : (
          <>
            <label for="login-token">토큰</label>
            <textarea
              id="login-token"
              data-testid="login-token"
              rows={4}
              autoComplete="off"
              spellcheck={false}
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
              aria-invalid={error ? 'true' : undefined}
              aria-describedby={error ? 'login-error' : undefined}
              autoFocus
            />
          </>
        )}
        {error && (
          <p id="login-error" class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="button primary" data-testid="login-submit" disabled={busy}>
          {busy ? '확인 중…' : '로그인'}
        </button>
      </form>
    </main>
  );
}
