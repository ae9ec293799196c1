import { GraphQLError } from "graphql";

/** A client mistake: bad argument, cursor or ID. Reported with code BAD_USER_INPUT. */
export class UserInputError extends GraphQLError {
  constructor(message: string, argumentName?: string) {
    super(message, {
      extensions: { code: "BAD_USER_INPUT", ...(argumentName ? { argumentName } : {}) },
    });
  }
}
