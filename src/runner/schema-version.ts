/** Version of the run and step record formats; bumped when a reader must tell them apart. */
export const SCHEMA_VERSION = 1;
