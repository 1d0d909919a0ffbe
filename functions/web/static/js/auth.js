// Sign-in with the stack's Cognito user pool, through the user-pool API itself (InitiateAuth with
// USER_PASSWORD_AUTH over TLS, RespondToAuthChallenge for a first password or an MFA code, REFRESH_TOKEN_AUTH
// to stay signed in). The endpoint and the public app client come from config.json: the region's Cognito
// when deployed, the local AWS under `make run`, so both go through this same code.

const STORE = "leadstream.session";
const REFRESH_MARGIN_MS = 60_000;

let config = null;
let refreshing = null;

export async function loadConfig() {
  if (!config) {
    const answer = await fetch(new URL("app/config.json", location.href), { cache: "no-cache" });
    if (!answer.ok) throw new Error(`The app's configuration did not load (HTTP ${answer.status}). Reload the page.`);
    config = await answer.json();
  }
  return config;
}

export class AuthError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
}

const EXPLAINED = {
  NotAuthorizedException: "Incorrect e-mail or password.",
  UserNotFoundException: "Incorrect e-mail or password.",
  PasswordResetRequiredException: "Your password must be reset: ask your Leadstream administrator.",
  UserNotConfirmedException: "Your account is not confirmed yet: ask your Leadstream administrator.",
  InvalidPasswordException: null, // Cognito's own message names the rule that failed
  CodeMismatchException: "That code is not right: try the current one from your authenticator app.",
  TooManyRequestsException: "Too many attempts: wait a minute, then try again.",
  LimitExceededException: "Too many attempts: wait a minute, then try again.",
};

async function cognito(target, body) {
  const { cognitoEndpoint, clientId } = await loadConfig();
  let answer;
  try {
    answer = await fetch(cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify({ ClientId: clientId, ...body }),
    });
  } catch {
    throw new AuthError("Network", "The sign-in service could not be reached: check your connection and try again.");
  }
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const type = String(data.__type || "").split("#").pop();
    throw new AuthError(type, EXPLAINED[type] || data.message || `Sign-in failed (HTTP ${answer.status}).`);
  }
  return data;
}

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function sessionFrom(result, previous) {
  const idToken = result.IdToken;
  const said = claims(idToken);
  const groups = said["cognito:groups"] || [];
  const session = {
    idToken,
    refreshToken: result.RefreshToken || previous?.refreshToken,
    expiresAt: said.exp * 1000,
    email: said.email || said["cognito:username"] || "",
    groups: Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/),
  };
  localStorage.setItem(STORE, JSON.stringify(session));
  return session;
}

export function currentSession() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE) || "null");
    return stored && stored.idToken ? stored : null;
  } catch {
    return null;
  }
}

/** Whether this user may act on leads (accept, reject, qualify...): sales and admin; marketing reads. */
export function canAct(session) {
  return Boolean(session) && session.groups.some((group) => group === "sales" || group === "admin");
}

/** A signed-in session, or a challenge to answer: {challenge, session, email}. */
export async function signIn(email, password) {
  const data = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (data.AuthenticationResult) return { session: sessionFrom(data.AuthenticationResult) };
  return { challenge: data.ChallengeName, cognitoSession: data.Session, email };
}

/** Answers NEW_PASSWORD_REQUIRED (`answer` is the new password) or SOFTWARE_TOKEN_MFA (the code). */
export async function answerChallenge(pending, answer) {
  const responses = { USERNAME: pending.email };
  if (pending.challenge === "NEW_PASSWORD_REQUIRED") responses.NEW_PASSWORD = answer;
  else responses.SOFTWARE_TOKEN_MFA_CODE = answer;
  const data = await cognito("RespondToAuthChallenge", {
    ChallengeName: pending.challenge,
    Session: pending.cognitoSession,
    ChallengeResponses: responses,
  });
  if (data.AuthenticationResult) return { session: sessionFrom(data.AuthenticationResult) };
  return { challenge: data.ChallengeName, cognitoSession: data.Session, email: pending.email };
}

/** The ID token, refreshed when it is about to expire; null when the session is over. */
export async function idToken({ force = false } = {}) {
  const session = currentSession();
  if (!session) return null;
  if (!force && session.expiresAt - REFRESH_MARGIN_MS > Date.now()) return session.idToken;
  if (!session.refreshToken) return null;
  refreshing ||= cognito("InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    AuthParameters: { REFRESH_TOKEN: session.refreshToken },
  })
    .then((data) => sessionFrom(data.AuthenticationResult, session).idToken)
    .catch(() => null)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export function signOut() {
  localStorage.removeItem(STORE);
  window.dispatchEvent(new Event("leadstream:signed-out"));
}
