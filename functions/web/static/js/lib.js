// The view library, in one place: Preact (with hooks) and htm's tagged templates, vendored and pinned
// (vendor/LICENSES.txt). What a visitor typed reaches the page as text nodes, never as markup.
import { h, render, Fragment } from "../vendor/preact-10.29.8.js";
import { useCallback, useEffect, useMemo, useRef, useState } from "../vendor/preact-hooks-10.29.8.js";
import htm from "../vendor/htm-3.1.1.js";

export const html = htm.bind(h);
export { render, Fragment, useCallback, useEffect, useMemo, useRef, useState };
