"""Two-factor sign-in for staff: TOTP authenticators, recovery codes, the sign-in
challenge, and the policy that admins must use it (ADR 0017).

Modules: ``enrolment`` (an account's authenticator: status, enrol, confirm, remove),
``challenge`` (the sign-in challenge, the admin policy, housekeeping) and ``common``
(the policy, the check of a code that both use, and the tools their use cases share).

* Enrolment: ``BeginEnrolment`` stores a new secret as *pending* and hands out its
  ``otpauth://`` URI; ``ConfirmEnrolment`` takes a code from the app, makes the secret
  the account's authenticator and returns 10 recovery codes, once (only their SHA-256
  is stored). A confirmed authenticator keeps working while a new one is pending, so
  someone who lost their phone signs in with a recovery code and enrols the new one.
* Sign-in: ``SecondFactorGate`` (the ``SignInGate`` of password and Google sign-in)
  answers an account with an authenticator with ``SecondFactorRequired``: a challenge
  (opaque, 5 minutes, stored as its hash in the shared ``Cache``). ``VerifySecondFactor``
  takes the challenge and a code or a recovery code and starts the session, which is
  then remembered as a two-factor session (``SecondFactorStore.mark_session``): refreshing
  it never asks again.
* Replay: a TOTP time step is accepted once per account (``SecondFactorStore.use_step``).
* Throttling: a challenge dies after ``failures_per_challenge`` wrong codes; past
  ``failures_per_account`` wrong codes (sign-in, confirmation, removal) the account's
  second-factor attempts wait (429 with Retry-After). Only someone who knows the password
  can fail a code, so this cannot be used to lock the owner out by strangers.
* Policy: with ``require_admin`` an admin's session that did not pass a second factor
  may only use the two-factor routes (``AdminSecondFactorRule``).
"""
