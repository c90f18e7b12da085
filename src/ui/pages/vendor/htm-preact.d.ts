// The types of htm with Preact and its hooks, as the pages use them. The pages import the
// vendored standalone module (copied to assets/vendor/ at build time, not bundled); its
// package's own types need the preact package, which that module carries inside itself.

/** What htm's `html` makes: a Preact element. */
export interface VNode {
  readonly type: unknown;
  readonly props: unknown;
}

/** What a component renders: an element, text, or nothing. */
export type Rendered = VNode | string | null;

export function html(strings: TemplateStringsArray, ...values: unknown[]): VNode;
export function render(tree: Rendered, parent: Element): void;

export type SetState<T> = (value: T | ((old: T) => T)) => void;
export function useState<T>(initial: T): [T, SetState<T>];
/** `effect` may return a function: it is called before the next run and when the page drops it. */
export function useEffect(effect: () => unknown, inputs?: readonly unknown[]): void;
export function useRef<T>(initial: T): { current: T };
