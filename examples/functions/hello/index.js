// A minimal function: greets whoever the event names.
exports.handler = async (event) => {
  const name = event && typeof event.name === "string" ? event.name : "world";
  return { message: `Hello, ${name}!` };
};
