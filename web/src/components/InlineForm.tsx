/**
 * InlineForm: one labelled text input and a submit button on a row, as the
 * Ring view's lookup and write boxes use. The label is for screen readers;
 * Enter or the button submits.
 */
export function InlineForm(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  onSubmit: () => void;
  placeholder: string;
  inputTestId: string;
  button: string;
  buttonClass: string;
  buttonTestId: string;
  disabled: boolean;
}) {
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <label className="sr-only" htmlFor={props.id}>
        {props.label}
      </label>
      <input id={props.id} className="grow" value={props.value} onChange={(e) => props.onChange(e.target.value)} placeholder={props.placeholder} data-testid={props.inputTestId} />
      <button type="submit" className={props.buttonClass} disabled={props.disabled} data-testid={props.buttonTestId}>
        {props.button}
      </button>
    </form>
  );
}
