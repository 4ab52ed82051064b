"""The consent page's words in the customer's language (the e-mails use templates)."""

TEXT = {
    "en": {
        "title": "Order {ref}: your choice", "heading": "Order {ref}", "hello": "Hello {name},",
        "new_ship": "New ship date", "new_delivery": "New delivery date",
        "unknown": "not yet known (our estimate: {date})",
        "recorded_accept": "We have recorded that you accept the new date. Thank you for waiting.",
        "recorded_withdraw": "We have received your withdrawal from the contract for this item. "
                             "You will get a full refund {refund}; a confirmation is on its way by e-mail.",
        "recorded_cancel": "We have cancelled this item as you asked. You will get a full refund "
                           "{refund}; a confirmation is on its way by e-mail.",
        "recorded_on": "Recorded on {when}.",
        "shipped": "This item has already shipped: there is nothing more to choose.",
        "cancelled": "This item has already been cancelled: there is nothing more to choose.",
        "superseded": "The date in the e-mail you followed has changed since we sent it. The date "
                      "above is the current one; please see our latest e-mail to accept it. You can "
                      "still cancel below.",
        "us_intro": "You may accept the new date, or cancel this item and get a full and prompt refund "
                    "{refund}. Cancelling costs you nothing.",
        "intro_essential": "You may keep your order with the new date, or — because the delivery date "
                           "was essential to you — end the contract at once. If you end it, we refund "
                           "everything you paid, including standard delivery, {refund}.",
        "intro": "You may keep your order with the new date, give us an additional period to deliver, "
                 "or end the contract. If you end it, we refund everything you paid, including "
                 "standard delivery, {refund}.",
        "accept": "Accept the new date", "cancel_us": "Cancel for a full refund",
        "withdraw": "Withdraw from contract here", "end": "End the contract and get a refund",
        "additional_period": "To set an additional period for delivery instead, simply reply to our "
                             "e-mail with the date by which you need the item.",
        "refund_us": "within 7 working days", "refund": "within 14 days",
    },
    "de": {
        "title": "Bestellung {ref}: Ihre Auswahl", "heading": "Bestellung {ref}", "hello": "Guten Tag {name},",
        "new_ship": "Neuer Versandtermin", "new_delivery": "Neuer Liefertermin",
        "unknown": "noch nicht bekannt (unsere Schätzung: {date})",
        "recorded_accept": "Wir haben festgehalten, dass Sie den neuen Termin akzeptieren. Danke für "
                           "Ihre Geduld.",
        "recorded_withdraw": "Wir haben Ihren Widerruf für diesen Artikel erhalten. Sie erhalten den "
                             "vollen Betrag {refund} zurück; eine Bestätigung ist per E-Mail unterwegs.",
        "recorded_cancel": "Wir haben diesen Artikel wie gewünscht storniert. Sie erhalten den vollen "
                           "Betrag {refund} zurück; eine Bestätigung ist per E-Mail unterwegs.",
        "recorded_on": "Erfasst am {when}.",
        "shipped": "Dieser Artikel wurde bereits versandt: Es gibt nichts mehr zu wählen.",
        "cancelled": "Dieser Artikel wurde bereits storniert: Es gibt nichts mehr zu wählen.",
        "superseded": "Der Termin in der E-Mail, der Sie gefolgt sind, hat sich seitdem geändert. Oben "
                      "steht der aktuelle Termin; bitte nutzen Sie unsere neueste E-Mail, um ihn zu "
                      "akzeptieren. Zurücktreten können Sie weiterhin unten.",
        "us_intro": "Sie können den neuen Termin akzeptieren oder diesen Artikel stornieren und erhalten "
                    "dann den vollen Betrag {refund} zurück. Die Stornierung ist kostenlos.",
        "intro_essential": "Sie können Ihre Bestellung mit dem neuen Termin behalten oder – da der "
                           "Liefertermin für Sie wesentlich war – sofort vom Vertrag zurücktreten. "
                           "Dann erstatten wir alle Zahlungen einschließlich der Standardversandkosten "
                           "{refund}.",
        "intro": "Sie können Ihre Bestellung mit dem neuen Termin behalten, uns eine zusätzliche Frist "
                 "zur Lieferung setzen oder vom Vertrag zurücktreten. Dann erstatten wir alle Zahlungen "
                 "einschließlich der Standardversandkosten {refund}.",
        "accept": "Neuen Termin akzeptieren", "cancel_us": "Stornieren und Geld zurück",
        "withdraw": "Vertrag hier widerrufen", "end": "Vom Vertrag zurücktreten",
        "additional_period": "Möchten Sie stattdessen eine zusätzliche Lieferfrist setzen, antworten Sie "
                             "einfach auf unsere E-Mail mit dem Datum, bis zu dem Sie den Artikel benötigen.",
        "refund_us": "innerhalb von 7 Werktagen", "refund": "innerhalb von 14 Tagen",
    },
    "fr": {
        "title": "Commande {ref} : votre choix", "heading": "Commande {ref}", "hello": "Bonjour {name},",
        "new_ship": "Nouvelle date d'expédition", "new_delivery": "Nouvelle date de livraison",
        "unknown": "pas encore connue (notre estimation : {date})",
        "recorded_accept": "Nous avons bien noté que vous acceptez la nouvelle date. Merci de votre "
                           "patience.",
        "recorded_withdraw": "Nous avons bien reçu votre rétractation pour cet article. Vous serez "
                             "intégralement remboursé {refund} ; une confirmation vous est envoyée par "
                             "e-mail.",
        "recorded_cancel": "Nous avons annulé cet article comme vous l'avez demandé. Vous serez "
                           "intégralement remboursé {refund} ; une confirmation vous est envoyée par "
                           "e-mail.",
        "recorded_on": "Enregistré le {when}.",
        "shipped": "Cet article a déjà été expédié : il n'y a plus rien à choisir.",
        "cancelled": "Cet article a déjà été annulé : il n'y a plus rien à choisir.",
        "superseded": "La date indiquée dans l'e-mail que vous avez suivi a changé depuis son envoi. La "
                      "date ci-dessus est la date actuelle ; utilisez notre dernier e-mail pour "
                      "l'accepter. Vous pouvez toujours annuler ci-dessous.",
        "us_intro": "Vous pouvez accepter la nouvelle date, ou annuler cet article et être intégralement "
                    "remboursé {refund}. L'annulation est gratuite.",
        "intro_essential": "Vous pouvez conserver votre commande avec la nouvelle date ou, la date de "
                           "livraison étant essentielle pour vous, mettre fin au contrat immédiatement. "
                           "Dans ce cas, nous vous remboursons toutes les sommes versées, frais de "
                           "livraison standard compris, {refund}.",
        "intro": "Vous pouvez conserver votre commande avec la nouvelle date, nous accorder un délai "
                 "supplémentaire pour livrer, ou mettre fin au contrat. Dans ce cas, nous vous "
                 "remboursons toutes les sommes versées, frais de livraison standard compris, {refund}.",
        "accept": "J'accepte la nouvelle date", "cancel_us": "Annuler et être remboursé",
        "withdraw": "Se rétracter du contrat ici", "end": "Mettre fin au contrat et être remboursé",
        "additional_period": "Pour nous accorder plutôt un délai supplémentaire, répondez simplement à "
                             "notre e-mail en indiquant la date à laquelle il vous faut l'article.",
        "refund_us": "sous 7 jours ouvrés", "refund": "sous 14 jours",
    },
}


def page_text(language: str, **values) -> dict[str, str]:
    """Return the page's words in a language (English when unknown), placeholders filled."""
    words = TEXT.get(language, TEXT["en"])
    return {key: text.format(**values) if "{" in text else text for key, text in words.items()}
